/**
 * The list cursor (contract v2 §3): our own encoding, decoded only when we could have written it.
 * Run with: bun test backends/shared
 */
import { expect, test } from "bun:test";
import { decodeCursor, encodeCursor } from "../src/paging.ts";

const position = { createdAt: "2026-12-05T22:43:43.527Z", seq: 42 };

test("a cursor decodes to the position it was made from", () => {
  expect(decodeCursor(encodeCursor(position))).toEqual(position);
});

test("a cursor is base64url without padding", () => {
  expect(encodeCursor(position)).toMatch(/^[A-Za-z0-9_-]+$/);
});

test("a cursor with characters outside base64url is refused", () => {
  expect(decodeCursor(`${encodeCursor(position)}=`)).toBeNull();
});

test("base64 of text that is not a position is refused", () => {
  expect(decodeCursor(btoa("hello|world").replace(/=+$/, ""))).toBeNull();
});

test("a position with seq 0 is refused", () => {
  expect(decodeCursor(btoa("2026-12-05T22:43:43.527Z|0").replace(/=+$/, ""))).toBeNull();
});

test("a position with a third part is refused", () => {
  expect(decodeCursor(btoa("2026-12-05T22:43:43.527Z|1|2"))).toBeNull();
});

test("a non-canonical spelling of a valid position is refused", () => {
  // 26 bytes of text: the last base64 character carries 2 unused low bits.
  const canonical = encodeCursor({ createdAt: "2026-12-05T22:43:43.527Z", seq: 4 });
  // Flip one unused bit of the last character: same bytes when decoded, a different string.
  const last = canonical.at(-1)!;
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const twin = alphabet[alphabet.indexOf(last) ^ 1];
  expect(decodeCursor(canonical.slice(0, -1) + twin)).toBeNull();
});

test("an empty cursor is refused", () => {
  expect(decodeCursor("")).toBeNull();
});
