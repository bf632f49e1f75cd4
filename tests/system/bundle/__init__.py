"""What ``wrangler deploy`` uploads for the Worker: system level, as it runs the deployment tool a user runs, not the gateway on a runtime."""
