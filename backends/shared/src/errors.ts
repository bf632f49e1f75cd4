/**
 * Every client-visible failure is an ApiError raised where it is detected and
 * rendered once, by app.ts, as `{"error": {"code", "message", "field"?}}`.
 *
 *   ApiError(status, code, message, field?)
 *     400 invalid_json            body is not parseable JSON (or is empty)
 *     400 invalid_idempotency_key Idempotency-Key malformed or repeated (idempotency.ts)
 *     404 not_found               unknown route or unknown id
 *     405 method_not_allowed      route exists, method does not (carries Allow)
 *     413 payload_too_large       body over MAX_BODY_BYTES
 *     415 unsupported_media_type  body sent with a non-JSON Content-Type
 *     422 validation_error        well-formed JSON that breaks a rule (names the field)
 *     422 idempotency_key_reused  Idempotency-Key already used for a different request
 *     500 internal_error          anything unexpected; details go to the log only
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const notFound = (what = "resource"): ApiError =>
  new ApiError(404, "not_found", `${what} not found`);

export const invalid = (field: string | undefined, message: string): ApiError =>
  new ApiError(422, "validation_error", message, field);
