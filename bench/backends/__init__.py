"""``make bench-backends`` (``python -m bench.backends``): the GTD workload against every backend,
directly and through the gateway (see run.py; docs/benchmarks.md)."""
