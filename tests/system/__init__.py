"""Whole stacks started as a user starts them: the web app in a browser, Docker Compose, the bench, the tools, the Worker under wrangler."""
