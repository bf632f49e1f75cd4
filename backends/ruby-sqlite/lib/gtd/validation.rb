# frozen_string_literal: true

require_relative "cursor"
require_relative "errors"
require_relative "rrule"

module Gtd
  # Input rules for bodies, query strings and path ids, the same as
  # backends/shared/src/validation.ts (and backends/contract/openapi.yaml).
  # Each rule returns the (possibly normalised) value or raises a 422 naming
  # the field. Where Ruby and JavaScript differ (what "\s" and "trim" mean,
  # lone surrogates, object key order) the JavaScript meaning is kept.
  module Validation
    TASK_STATUSES = %w[inbox next waiting scheduled someday done].freeze
    PROJECT_STATUSES = %w[active someday done].freeze

    # JavaScript's \s (and what String#trim removes): Ruby's \s is ASCII only.
    JS_SPACE = "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
    BLANK_RE = /\A[#{JS_SPACE}]*\z/
    UUID_RE = /\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\z/i
    DATE_RE = /\A([0-9]{4})-([0-9]{2})-([0-9]{2})\z/
    # A GTD context: "@" then 1-49 non-space characters, e.g. "@home", "@phone".
    CONTEXT_RE = /\A@[^#{JS_SPACE}]{1,49}\z/
    DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31].freeze

    # Array-index-like keys ("0", "7", "42") come first in a JavaScript object's key order.
    ARRAY_INDEX_RE = /\A(?:0|[1-9][0-9]*)\z/
    MAX_ARRAY_INDEX = 4_294_967_294

    # A field: its rule, and whether null is allowed / the field is required on create.
    Field = Struct.new(:rule, :nullable, :required, keyword_init: true)

    module_function

    def blank?(string) = BLANK_RE.match?(string)

    # Length in Unicode code points, so "🙂" counts as 1 (String#length on UTF-8 already does).
    def code_points(string) = string.length

    # Text of min..max code points; blank: false also refuses whitespace-only text.
    def text(min, max, blank: true)
      lambda do |value, field|
        raise ApiError.invalid(field, "#{field} must be a string") unless value.is_a?(String)
        # A lone surrogate escape ("\ud800") parses to invalid UTF-8; it cannot be stored.
        raise ApiError.invalid(field, "#{field} must be valid Unicode") unless value.valid_encoding?

        length = code_points(value)
        raise ApiError.invalid(field, "#{field} must be #{min}-#{max} characters long") if length < min || length > max
        raise ApiError.invalid(field, "#{field} must not be blank") if !blank && blank?(value)

        value
      end
    end

    def one_of(values)
      lambda do |value, field|
        unless value.is_a?(String) && values.include?(value)
          raise ApiError.invalid(field, "#{field} must be one of: #{values.join(', ')}")
        end

        value
      end
    end

    UUID = lambda do |value, field|
      raise ApiError.invalid(field, "#{field} must be a UUID") unless uuid?(value)

      value.downcase
    end

    CONTEXT = lambda do |value, field|
      unless value.is_a?(String) && value.valid_encoding? && CONTEXT_RE.match?(value)
        raise ApiError.invalid(field, "#{field} must be \"@\" followed by 1-49 non-space characters, e.g. \"@home\"")
      end

      value
    end

    DATE = lambda do |value, field|
      match = value.is_a?(String) && value.valid_encoding? ? DATE_RE.match(value) : nil
      unless match && real_date?(match[1].to_i, match[2].to_i, match[3].to_i)
        raise ApiError.invalid(field, "#{field} must be a calendar date as YYYY-MM-DD")
      end

      value
    end

    # RFC 3339 UTC with milliseconds, as every served timestamp (import reads them back).
    TIMESTAMP_RE = /\A([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.[0-9]{3}Z\z/
    TIMESTAMP = lambda do |value, field|
      match = value.is_a?(String) && value.valid_encoding? ? TIMESTAMP_RE.match(value) : nil
      unless match && real_date?(match[1].to_i, match[2].to_i, match[3].to_i) &&
             match[4].to_i < 24 && match[5].to_i < 60 && match[6].to_i < 60
        raise ApiError.invalid(field, "#{field} must be a timestamp like 2026-01-02T03:04:05.678Z")
      end

      value
    end

    REPEAT_FROM = %w[due completion].freeze
    MAX_BLOCKED_BY = 100

    # {"rule", "from"} with the rule in canonical form; any problem is 422 naming the field.
    REPEAT = lambda do |value, field|
      rule = value.is_a?(Hash) && value.keys.sort == %w[from rule] ? RRule.parse(value["rule"]) : nil
      unless rule && REPEAT_FROM.include?(value["from"])
        raise ApiError.invalid(field, "#{field} must be {\"rule\": an RRULE such as \"FREQ=WEEKLY;BYDAY=MO\", " \
                                      "\"from\": \"due\" or \"completion\"}")
      end

      { "rule" => RRule.canonical(rule), "from" => value["from"] }
    end

    # The ids' format only (lowercased); existence, self, duplicates and cycles
    # need the store and come after the project_id check (Store#check_blockers).
    BLOCKED_BY = lambda do |value, field|
      unless value.is_a?(Array) && value.length <= MAX_BLOCKED_BY && value.all? { |id| uuid?(id) }
        raise ApiError.invalid(field, "#{field} must be an array of at most #{MAX_BLOCKED_BY} task ids")
      end

      value.map(&:downcase)
    end

    def real_date?(year, month, day)
      return false if month < 1 || month > 12 || day < 1

      leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
      day <= (month == 2 && leap ? 29 : DAYS_IN_MONTH[month - 1])
    end

    # Path ids: anything that is not a UUID cannot name a resource (callers answer 404).
    def uuid?(value)
      value.is_a?(String) && value.valid_encoding? && UUID_RE.match?(value)
    end

    TASK_FIELDS = {
      "title" => Field.new(rule: text(1, 500, blank: false), required: true),
      "notes" => Field.new(rule: text(0, 10_000), nullable: true),
      "status" => Field.new(rule: one_of(TASK_STATUSES)),
      "project_id" => Field.new(rule: UUID, nullable: true),
      "context" => Field.new(rule: CONTEXT, nullable: true),
      "due_date" => Field.new(rule: DATE, nullable: true),
      "defer_until" => Field.new(rule: DATE, nullable: true),
      "repeat" => Field.new(rule: REPEAT, nullable: true),
      "blocked_by" => Field.new(rule: BLOCKED_BY)
    }.freeze

    PROJECT_FIELDS = {
      "name" => Field.new(rule: text(1, 200, blank: false), required: true),
      "status" => Field.new(rule: one_of(PROJECT_STATUSES)),
      "notes" => Field.new(rule: text(0, 10_000), nullable: true),
      "reviewed_on" => Field.new(rule: DATE, nullable: true)
    }.freeze

    BOOLEAN = lambda do |value, field|
      raise ApiError.invalid(field, "#{field} must be true or false") unless %w[true false].include?(value)

      value == "true"
    end

    # 1-500 in decimal, no sign, no leading zeros.
    LIMIT = lambda do |value, field|
      unless value.match?(/\A[1-9][0-9]{0,2}\z/) && value.to_i <= 500
        raise ApiError.invalid(field, "#{field} must be an integer from 1 to 500")
      end

      value.to_i
    end

    CURSOR = lambda do |value, field|
      Cursor.decode(value) or raise ApiError.invalid(field, "#{field} must be a next_cursor from a previous answer")
    end

    PAGING = { "limit" => LIMIT, "cursor" => CURSOR, "today" => DATE }.freeze
    TASK_FILTERS = {
      "status" => one_of(TASK_STATUSES), "project_id" => UUID, "context" => CONTEXT,
      "deferred" => BOOLEAN, "blocked" => BOOLEAN, "available" => BOOLEAN, "q" => text(1, 200), **PAGING
    }.freeze
    PROJECT_FILTERS = { "status" => one_of(PROJECT_STATUSES), **PAGING }.freeze
    TODAY_ONLY = { "today" => DATE }.freeze

    # The keys of a parsed JSON object in the order JavaScript's Object.keys gives them:
    # array-index-like keys first, ascending, then the others in insertion order.
    def js_key_order(keys)
      indexes, others = keys.partition do |key|
        key.valid_encoding? && ARRAY_INDEX_RE.match?(key) && key.to_i <= MAX_ARRAY_INDEX
      end
      indexes.sort_by(&:to_i) + others
    end

    # mode: :create (required fields must be present) or :update (at least one field).
    # Returns a Hash of the given fields, validated and normalised, in spec order.
    def parse_fields(body, specs, mode)
      raise ApiError.invalid(nil, "request body must be a JSON object") unless body.is_a?(Hash)

      # Unknown (and read-only) fields are rejected rather than ignored, so a
      # client typo such as "stauts" cannot silently do nothing.
      js_key_order(body.keys).each do |key|
        raise ApiError.invalid(key, "unknown or read-only field '#{key}'") unless specs.key?(key)
      end
      if mode == :update && body.empty?
        raise ApiError.invalid(nil, "request body must contain at least one field to change")
      end

      specs.each_with_object({}) do |(key, spec), out|
        unless body.key?(key)
          raise ApiError.invalid(key, "#{key} is required") if mode == :create && spec.required

          next
        end
        value = body[key]
        if value.nil?
          raise ApiError.invalid(key, "#{key} must not be null") unless spec.nullable

          out[key] = nil
        else
          out[key] = spec.rule.call(value, key)
        end
      end
    end

    def parse_task_fields(body, mode) = parse_fields(body, TASK_FIELDS, mode)
    def parse_project_fields(body, mode) = parse_fields(body, PROJECT_FIELDS, mode)

    # pairs: [[name, value], ...] as URLSearchParams gives them (see parse_query_string).
    def parse_query(pairs, rules)
      pairs.map(&:first).uniq.each_with_object({}) do |key, out|
        raise ApiError.invalid(key, "unknown query parameter '#{key}'") unless rules.key?(key)

        values = pairs.select { |name, _| name == key }.map(&:last)
        raise ApiError.invalid(key, "#{key} may be given only once") if values.length > 1

        out[key] = rules[key].call(values.first, key)
      end
    end

    def parse_task_filter(pairs) = parse_query(pairs, TASK_FILTERS)
    def parse_project_filter(pairs) = parse_query(pairs, PROJECT_FILTERS)

    # Routes where `today` is the only parameter (GET /counts): anything else is 422.
    def parse_today_query(pairs) = parse_query(pairs, TODAY_ONLY)

    # Item routes (GET/PATCH /tasks/{id}, GET /projects/{id}) ignore unknown
    # parameters as in v1, but a `today` there must be valid (and given once).
    def parse_item_query(pairs) = parse_query(pairs.select { |name, _| name == "today" }, TODAY_ONLY)

    # A query string split the way URLSearchParams (application/x-www-form-urlencoded)
    # does: "&"-separated, empty pieces skipped, "name" alone means an empty value,
    # "+" is a space, bad %-escapes stay as they are, invalid UTF-8 becomes U+FFFD.
    def parse_query_string(query)
      query.to_s.split("&").reject(&:empty?).map do |piece|
        name, value = piece.split("=", 2)
        [form_decode(name), form_decode(value || "")]
      end
    end

    def form_decode(string)
      bytes = string.b.tr("+", " ").gsub(/%([0-9a-fA-F]{2})/n) { Regexp.last_match(1).hex.chr }
      bytes.force_encoding(Encoding::UTF_8).scrub("\uFFFD")
    end
  end
end
