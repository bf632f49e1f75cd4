"""Every client-visible failure is an ApiError raised where it is detected and
rendered once (gtd_pg.routing) as `{"error": {"code", "message", "field"?}}`.

    400 invalid_json            body is not parseable JSON (or is empty, or not UTF-8)
    400 invalid_idempotency_key Idempotency-Key malformed or repeated
    404 not_found               unknown route or unknown id
    405 method_not_allowed      route exists, method does not (carries Allow)
    413 payload_too_large       body over MAX_BODY_BYTES
    415 unsupported_media_type  body sent with a non-JSON Content-Type
    422 validation_error        well-formed JSON or query that breaks a rule (names the field)
    422 idempotency_key_reused  Idempotency-Key already used for a different request
    500 internal_error          anything unexpected; details go to the log only
    503 database_unavailable    PostgreSQL down, unreachable or past DB_TIMEOUT_MS (gtd_pg.routing)
"""

from __future__ import annotations


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}

    def body(self) -> dict[str, dict[str, str]]:
        error = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def invalid(field: str | None, message: str) -> ApiError:
    return ApiError(422, "validation_error", message, field)
