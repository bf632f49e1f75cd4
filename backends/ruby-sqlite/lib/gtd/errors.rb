# frozen_string_literal: true

module Gtd
  # Every client-visible failure is an ApiError raised where it is detected and
  # rendered once, by App, as {"error": {"code", "message", "field"?}}.
  #
  #   400 invalid_json            body is empty, not UTF-8 or not parseable JSON
  #   404 not_found               unknown route or unknown id
  #   405 method_not_allowed      route exists, method does not (carries Allow)
  #   413 payload_too_large       body over MAX_BODY_BYTES
  #   415 unsupported_media_type  body sent with a non-JSON Content-Type
  #   422 validation_error        well-formed JSON or query that breaks a rule (names the field)
  #   500 internal_error          anything unexpected; details go to the log only
  class ApiError < StandardError
    attr_reader :status, :code, :field, :headers

    def initialize(status, code, message, field: nil, headers: {})
      super(message)
      @status = status
      @code = code
      @field = field
      @headers = headers
    end

    def body
      error = { "code" => code, "message" => message }
      error["field"] = field unless field.nil?
      { "error" => error }
    end

    def self.not_found(what = "resource")
      new(404, "not_found", "#{what} not found")
    end

    def self.invalid(field, message)
      new(422, "validation_error", message, field: field)
    end
  end
end
