"""The GTD backend gateway: one handler, two runtimes (Cloudflare Python Workers and CPython)."""

__version__ = "1.0.0"
