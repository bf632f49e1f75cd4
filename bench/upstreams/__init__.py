"""Upstreams the suite starts besides nginx (the streaming phase's sink and source)."""
