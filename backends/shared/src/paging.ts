/**
 * Keyset paging (contract v2 §3): a cursor names the last item of a page by
 * its position in list order, (created_at, seq), so rows created or deleted
 * meanwhile neither repeat nor skip items. The encoding is ours alone:
 * base64url of `created_at|seq`.
 *
 *   const cursor = encodeCursor({ createdAt: "2026-01-01T00:00:00.000Z", seq: 7 });
 *   decodeCursor(cursor);   // the same position, or null for anything we did not write
 */

export interface Position {
  createdAt: string;
  seq: number;
}

const BASE64URL_RE = /^[A-Za-z0-9_-]+$/;
const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const SEQ_RE = /^[1-9][0-9]{0,14}$/;

export function encodeCursor(position: Position): string {
  return btoa(`${position.createdAt}|${position.seq}`)
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** The position a cursor names, or null when it is not one we could have written. */
export function decodeCursor(cursor: string): Position | null {
  if (!BASE64URL_RE.test(cursor) || cursor.length > 64) return null;
  let text: string;
  try {
    text = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    return null;
  }
  const [createdAt, seq, ...rest] = text.split("|");
  if (rest.length > 0 || seq === undefined || !TIMESTAMP_RE.test(createdAt) || !SEQ_RE.test(seq)) {
    return null;
  }
  // Round trip: only the canonical spelling of a position is accepted.
  const position = { createdAt, seq: Number(seq) };
  return encodeCursor(position) === cursor ? position : null;
}
