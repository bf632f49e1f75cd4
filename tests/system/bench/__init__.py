"""The bench run end to end (a quick run on the real backends)."""
