defmodule Gtd.ApiError do
  @moduledoc """
  Every client-visible failure: raised where it is detected, rendered once by
  `Gtd.Http` as `{"error": {"code", "message", "field"?}}`.

      400 invalid_json             body is empty, not UTF-8 or not parseable JSON
      400 invalid_idempotency_key  Idempotency-Key malformed or repeated
      404 not_found                unknown route or unknown id
      405 method_not_allowed       route exists, method does not (carries Allow)
      413 payload_too_large        body over 1 MiB (32 MiB on POST /import)
      415 unsupported_media_type   body sent with a non-JSON Content-Type
      422 validation_error         well-formed JSON or query that breaks a rule (names the field)
      422 idempotency_key_reused   the key was used for a different request within 24 h
      500 internal_error           anything unexpected; details go to the log only
  """
  defexception [:status, :code, :message, field: nil, headers: []]

  @type t :: %__MODULE__{
          status: pos_integer(),
          code: String.t(),
          message: String.t(),
          field: binary() | nil,
          headers: [{String.t(), String.t()}]
        }

  @doc "404 not_found for `what` (a route, a task, a project)."
  @spec not_found(String.t()) :: t()
  def not_found(what), do: %__MODULE__{status: 404, code: "not_found", message: "#{what} not found"}

  @doc "422 validation_error naming `field` (nil: the body as a whole)."
  @spec invalid(binary() | nil, String.t()) :: t()
  def invalid(field, message), do: %__MODULE__{status: 422, code: "validation_error", message: message, field: field}

  @doc "The error body as a JSON value."
  @spec body(t()) :: Gtd.Json.value()
  def body(%__MODULE__{code: code, message: message, field: field}) do
    members = [{"code", code}, {"message", message}] ++ if(field == nil, do: [], else: [{"field", field}])
    {:object, [{"error", {:object, members}}]}
  end
end
