"""The bench's Workers on workerd (workers.py) and the tools that measure them (body_cost, profile, pieces)."""
