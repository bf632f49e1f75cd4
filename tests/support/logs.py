"""What the gateway's request log line holds: the README's "Logs" section, as data."""

#: Every field of a request line, and nothing else (no header, query or URL can leak).
REQUEST_LINE_FIELDS = frozenset(
    {"ts", "request_id", "method", "path", "backend", "location", "status", "duration_ms", "upstream_ms", "outcome"}
)
