"""``make bench-lighthouse`` (``python -m bench.lighthouse``): Lighthouse, mobile and desktop, on the
inbox with 10,000 tasks (see run.py; Lighthouse itself is pinned in package.json here)."""
