"""The Worker under ``wrangler dev``: system level, as it starts the Worker the way a user does, not through the behaviour suite's harness."""
