"""``gateway-registry``: manage the cloud registry (KV ``backend:<id>`` documents)."""
