-- Idempotency-Key (backends/contract/openapi.yaml, "Idempotency-Key"): one row per key
-- whose first POST succeeded, written in the same transaction as the row it created.
-- `body` is the JSON answer as first sent; a retry within 24 h of `created_at`
-- (RFC 3339 UTC ms, like every timestamp) replays it. Older rows are purged lazily
-- when a new key is stored, by the index below.

CREATE TABLE idempotency_keys (
  key         TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  status      INTEGER NOT NULL,
  body        TEXT NOT NULL,
  created_at  TEXT NOT NULL
);

CREATE INDEX idempotency_keys_by_created ON idempotency_keys (created_at);
