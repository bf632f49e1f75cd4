"""Forwarding a request to the backend it was routed to."""
