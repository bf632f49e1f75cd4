# frozen_string_literal: true

require "digest"
require "json"

require_relative "errors"

module Gtd
  # The Idempotency-Key header (IETF httpapi draft "The Idempotency-Key HTTP
  # Header Field") on the POSTs that create: the key's syntax, the request
  # fingerprint, and the replayed answer. The same rules as
  # backends/shared/src/idempotency.ts; the SQL is in Store.
  module Idempotency
    # 1-255 visible ASCII characters (0x21-0x7E); the draft's sf-string form wraps them in quotes.
    KEY_RE = /\A[\x21-\x7e]{1,255}\z/n
    QUOTED_RE = /\A"([^"]*)"\z/n

    module_function

    # The key, or nil when the header is absent (raw is nil). Puma joins a
    # repeated header with ", ", which holds a space and is refused like any
    # other malformed value.
    def parse_key(raw)
      return nil if raw.nil?

      bytes = raw.b
      quoted = QUOTED_RE.match(bytes)
      key = quoted ? quoted[1] : bytes
      unless KEY_RE.match?(key)
        raise ApiError.new(400, "invalid_idempotency_key",
                           "Idempotency-Key must be 1-255 visible ASCII characters, optionally in double quotes, sent once")
      end

      key.force_encoding(Encoding::UTF_8)
    end

    # Lowercase hex SHA-256 of "METHOD path\n" followed by the raw body bytes.
    def fingerprint(method, path, body)
      Digest::SHA256.hexdigest("#{method} #{path}\n".b + body.b)
    end

    # [status, headers, body] of the stored answer, or a 422 when the key was used
    # for a different request. path is the collection, for the Location of a 201.
    def replay(stored, request_fingerprint, path)
      unless stored["fingerprint"] == request_fingerprint
        raise ApiError.new(422, "idempotency_key_reused", "this Idempotency-Key was already used for a different request")
      end

      headers = { "idempotent-replayed" => "true" }
      headers["location"] = "#{path}/#{JSON.parse(stored['body']).fetch('id')}" if stored["status"] == 201
      [stored["status"], headers, stored["body"]]
    end
  end
end
