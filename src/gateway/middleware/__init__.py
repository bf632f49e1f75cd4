"""Cross-cutting request concerns: CORS, authentication, request logs."""
