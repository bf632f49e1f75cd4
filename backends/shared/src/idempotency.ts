/**
 * The Idempotency-Key header (IETF httpapi draft "The Idempotency-Key HTTP
 * Header Field") for the POSTs that create something. The rules are written
 * down in backends/contract/openapi.yaml; this module holds the parts that
 * are not SQL: the key's syntax, the request fingerprint and the replay.
 *
 *   const key = parseIdempotencyKey(request.headers);  // null, or throws 400
 *   const fp = await fingerprint("POST", "/tasks", bodyBytes);
 */
import { ApiError } from "./errors.ts";
import { jsonText } from "./http.ts";

/** How long a stored key answers retries, from its first use (a replay does not extend it). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

// 1-255 visible ASCII characters (0x21-0x7E); the draft's sf-string form wraps them in quotes.
const KEY_RE = /^[\x21-\x7e]{1,255}$/;
const QUOTED_RE = /^"([^"]*)"$/;

/** A key as stored: what the first successful request answered. */
export interface StoredAnswer {
  fingerprint: string;
  status: number;
  body: string;
}

/** The key and fingerprint a create must store along with its row. */
export interface IdempotentWrite {
  key: string;
  fingerprint: string;
}

const invalidKey = () =>
  new ApiError(
    400,
    "invalid_idempotency_key",
    "Idempotency-Key must be 1-255 visible ASCII characters, optionally in double quotes, sent once",
  );

/**
 * The key from the request, or null when the header is absent. A repeated
 * header reaches us joined with ", " (Fetch's Headers), which holds a space
 * and so is refused like any other malformed value.
 */
export function parseIdempotencyKey(headers: Headers): string | null {
  const raw = headers.get("idempotency-key");
  if (raw === null) return null;
  const quoted = QUOTED_RE.exec(raw);
  const key = quoted ? quoted[1] : raw;
  if (!KEY_RE.test(key)) throw invalidKey();
  return key;
}

/** Lowercase hex SHA-256 of `METHOD path\n` followed by the raw body bytes. */
export async function fingerprint(method: string, path: string, body: Uint8Array): Promise<string> {
  const head = new TextEncoder().encode(`${method} ${path}\n`);
  const data = new Uint8Array(head.byteLength + body.byteLength);
  data.set(head, 0);
  data.set(body, head.byteLength);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * The answer to a request whose key is already stored: the first answer again
 * (marked as a replay), or 422 when the key was used for a different request.
 * `path` is the collection the resource was created in, for its Location.
 */
export function replay(stored: StoredAnswer, requestFingerprint: string, path: string): Response {
  if (stored.fingerprint !== requestFingerprint) {
    throw new ApiError(
      422,
      "idempotency_key_reused",
      "this Idempotency-Key was already used for a different request",
    );
  }
  const headers: Record<string, string> = { "idempotent-replayed": "true" };
  if (stored.status === 201) {
    const { id } = JSON.parse(stored.body) as { id: string };
    headers.location = `${path}/${id}`;
  }
  return jsonText(stored.status, stored.body, headers);
}
