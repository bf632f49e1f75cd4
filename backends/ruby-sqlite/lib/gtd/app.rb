# frozen_string_literal: true

require "json"
require "sinatra/base"

require_relative "errors"
require_relative "idempotency"
require_relative "log"
require_relative "strict_json"
require_relative "validation"

module Gtd
  # The GTD API (backends/contract/openapi.yaml) as a modular Sinatra app: the
  # same routes, statuses, error bodies and headers as the TypeScript backends
  # (backends/shared/src). Build it with the store and the backend id:
  #
  #   run Gtd::App.new(store: store, backend_id: "ruby-sqlite")
  #
  # Sinatra does the dispatch; a `before` filter answers what the contract
  # wants before any route runs: 404 for an unknown path, OPTIONS (204 +
  # Allow) on every route, 405 + Allow for a method a route does not serve.
  # HEAD is served wherever GET is (Sinatra routes it to the GET block; Puma
  # sends the headers only).
  class App < Sinatra::Base
    MAX_BODY_BYTES = 1_048_576
    # POST /import takes a whole export (10,000 tasks are about 4 MB); only that route.
    MAX_IMPORT_BYTES = 32 * 1_048_576
    JSON_TYPE_RE = %r{\Aapplication/([\w.+-]+\+)?json[#{Validation::JS_SPACE}]*(;|\z)}i
    JSON_HEADERS = { "content-type" => "application/json; charset=utf-8", "cache-control" => "no-store" }.freeze
    EMPTY_HEADERS = { "cache-control" => "no-store" }.freeze

    Route = Struct.new(:pattern, :allow, :served)

    # pattern => methods served (HEAD is implied by GET, OPTIONS by every route).
    ROUTES = {
      %r{\A/health\z} => %w[GET],
      %r{\A/tasks\z} => %w[GET POST],
      %r{\A/tasks/([^/]+)\z} => %w[GET PATCH DELETE],
      %r{\A/projects\z} => %w[GET POST],
      %r{\A/projects/([^/]+)\z} => %w[GET PATCH DELETE],
      %r{\A/counts\z} => %w[GET],
      %r{\A/export\z} => %w[GET],
      %r{\A/import\z} => %w[POST]
    }.map do |pattern, methods|
      allow = methods.flat_map { |m| m == "GET" ? %w[GET HEAD] : [m] } + ["OPTIONS"]
      Route.new(pattern, allow.join(", "), methods)
    end.freeze

    configure do
      # A JSON API behind the gateway: no HTML error pages, no Rack::Protection
      # (CORS and friends are the gateway's concern), no static files, no
      # sessions; errors are logged once, as JSON, by the handlers below.
      set :protection, false
      set :show_exceptions, false
      set :raise_errors, false
      set :dump_errors, false
      set :logging, false
      set :static, false
      set :sessions, false
      set :x_cascade, false
      set :strict_paths, true
      set :default_content_type, nil
    end

    def initialize(app = nil, store:, backend_id:, log: Log)
      super(app)
      @store = store
      @backend_id = backend_id
      @log = log
    end

    # The contract's parsing rules are stricter than Rack's, so this app parses
    # the query string and the body itself. Marking both as already parsed (in
    # Rack's own cache keys) keeps Sinatra from parsing them first, where a
    # malformed query (`a[=1`) or a form-encoded body would be answered by
    # Sinatra before the contract's checks run.
    def call(env)
      env["PATH_INFO"] = self.class.normalize_path(env["PATH_INFO"].to_s)
      env["rack.request.query_string"] = env["QUERY_STRING"]
      env["rack.request.query_hash"] = {}
      env["rack.request.form_input"] = env["rack.input"]
      env["rack.request.form_hash"] = {}
      super
    end

    # The path as a URL parser (WHATWG, as Bun and workerd use) sees it: "\" is
    # "/", and "." / ".." segments (also as %2e) are resolved.
    def self.normalize_path(raw)
      segments = raw.tr("\\", "/").split("/", -1)
      segments.shift if segments.first == ""
      out = []
      segments.each_with_index do |segment, index|
        last = index == segments.length - 1
        case segment.downcase
        when "..", ".%2e", "%2e.", "%2e%2e"
          out.pop
          out << "" if last
        when ".", "%2e"
          out << "" if last
        else
          out << segment
        end
      end
      "/#{out.join('/')}"
    end

    # A %-escaped path segment decoded like decodeURIComponent, or left as it
    # is when that would fail (a malformed escape cannot name any id anyway).
    def self.decode_segment(segment)
      return segment if segment.match?(/%(?![0-9a-fA-F]{2})/)

      decoded = segment.b.gsub(/%([0-9a-fA-F]{2})/n) { Regexp.last_match(1).hex.chr }.force_encoding(Encoding::UTF_8)
      decoded.valid_encoding? ? decoded : segment
    end

    before do
      path = request.path_info
      route = ROUTES.find { |r| r.pattern.match?(path) } or raise ApiError.not_found("route")
      @raw_id = route.pattern.match(path)[1]
      halt 204, EMPTY_HEADERS.merge("allow" => route.allow), [] if request.request_method == "OPTIONS"

      method = request.request_method == "HEAD" ? "GET" : request.request_method
      unless route.served.include?(method)
        raise ApiError.new(405, "method_not_allowed", "method #{request.request_method} is not allowed here",
                           headers: { "allow" => route.allow })
      end
    end

    # --- health ---------------------------------------------------------------

    get "/health" do
      @store.ping
      json 200, { "status" => "ok", "backend" => @backend_id, "db" => "ok" }
    rescue StandardError => e
      @log.error("health check: database query failed", error: "#{e.class}: #{e.message}")
      json 503, { "status" => "error", "backend" => @backend_id, "db" => "error" }
    end

    # --- tasks ----------------------------------------------------------------

    get "/tasks" do
      json 200, @store.list_tasks(Validation.parse_task_filter(query_pairs))
    end

    post "/tasks" do
      create_once do |body, idempotency|
        fields = Validation.parse_task_fields(body, :create)
        check_project_ref(fields["project_id"])
        @store.create_task(fields, idempotency: idempotency)
      end
    end

    get "/tasks/:id" do
      task = @store.get_task(path_id("task")) or raise ApiError.not_found("task")
      Validation.parse_item_query(query_pairs) # `today` changes nothing here, but must be valid
      json 200, task
    end

    patch "/tasks/:id" do
      id = path_id("task")
      # The path is checked before the body: a PATCH to a missing task is a 404 whatever it carries.
      raise ApiError.not_found("task") unless @store.get_task(id)

      today = Validation.parse_item_query(query_pairs)["today"] # the anchor of a completed repeat
      fields = Validation.parse_task_fields(read_json, :update)
      check_project_ref(fields["project_id"])
      updated = @store.update_task(id, fields, today: today) or raise ApiError.not_found("task") # deleted meanwhile
      task, next_id = updated
      json 200, task, next_id ? { "next-occurrence-id" => next_id } : {}
    end

    delete "/tasks/:id" do
      raise ApiError.not_found("task") unless @store.delete_task(path_id("task"))

      empty 204
    end

    # --- projects -------------------------------------------------------------

    get "/projects" do
      json 200, @store.list_projects(Validation.parse_project_filter(query_pairs))
    end

    post "/projects" do
      create_once do |body, idempotency|
        @store.create_project(Validation.parse_project_fields(body, :create), idempotency: idempotency)
      end
    end

    get "/projects/:id" do
      project = @store.get_project(path_id("project")) or raise ApiError.not_found("project")
      Validation.parse_item_query(query_pairs)
      json 200, project
    end

    patch "/projects/:id" do
      id = path_id("project")
      raise ApiError.not_found("project") unless @store.get_project(id)

      fields = Validation.parse_project_fields(read_json, :update)
      project = @store.update_project(id, fields) or raise ApiError.not_found("project")
      json 200, project
    end

    delete "/projects/:id" do
      raise ApiError.not_found("project") unless @store.delete_project(path_id("project"))

      empty 204
    end

    # --- v2: counts, export, import ---------------------------------------------

    get "/counts" do
      json 200, @store.counts(today: Validation.parse_today_query(query_pairs)["today"])
    end

    get "/export" do
      Validation.parse_query(query_pairs, {}) # no parameters at all
      json 200, @store.export
    end

    # Idempotency-Key is ignored here: an import is idempotent by itself.
    post "/import" do
      json 200, @store.import(parse_json(read_body(MAX_IMPORT_BYTES)))
    end

    # --- errors ---------------------------------------------------------------

    error ApiError do
      api_error = env["sinatra.error"]
      halt api_error.status, JSON_HEADERS.merge(api_error.headers), [error_json(api_error)]
    end

    # Only reached if a Sinatra route pattern disagreed with ROUTES; answer as the contract does.
    error Sinatra::NotFound do
      api_error = ApiError.not_found("route")
      halt api_error.status, JSON_HEADERS.dup, [error_json(api_error)]
    end

    # Anything else is a bug: log the details, show the client nothing internal.
    error Exception do
      boom = env["sinatra.error"]
      @log.error("unhandled error", method: request.request_method, path: request.path_info,
                                    error: "#{boom.class}: #{boom.message}", backtrace: boom.backtrace&.first(8))
      halt 500, JSON_HEADERS.dup,
           [JSON.generate({ "error" => { "code" => "internal_error", "message" => "internal server error" } })]
    end

    helpers do
      def json(status_code, payload, extra_headers = {})
        halt status_code, JSON_HEADERS.merge(extra_headers), [JSON.generate(payload)]
      end

      def error_json(api_error)
        JSON.generate(api_error.body)
      rescue JSON::GeneratorError
        # `field` is a body key holding a lone surrogate escape: write it as JSON.stringify does.
        members = api_error.body["error"].map { |key, value| "#{JSON.generate(key)}:#{StrictJson.dump_string(value)}" }
        %({"error":{#{members.join(',')}}})
      end

      def empty(status_code)
        halt status_code, EMPTY_HEADERS.dup, []
      end

      # [[name, value], ...] of the query string, as URLSearchParams reads it.
      def query_pairs
        Validation.parse_query_string(env["rack.request.query_string"])
      end

      # The path id: not a UUID => 404 (it cannot name anything); else lowercased.
      def path_id(what)
        id = App.decode_segment(@raw_id)
        raise ApiError.not_found(what) unless Validation.uuid?(id)

        id.downcase
      end

      # A referenced project must exist; otherwise the request is invalid, not "not found".
      def check_project_ref(project_id)
        return if project_id.nil? || @store.project_exists?(project_id)

        raise ApiError.invalid("project_id", "project_id does not name an existing project")
      end

      # A POST that creates, at most once per Idempotency-Key: the key is checked
      # before the body (400); a stored key answers the stored response (or 422
      # for a different request); a new key is stored by the block's create,
      # with its row. If that write fails because a concurrent request stored
      # the key first, this request answers with the stored response too.
      # The block gets the parsed body and the Store::IdempotentWrite (or nil).
      def create_once
        key = Idempotency.parse_key(env["HTTP_IDEMPOTENCY_KEY"])
        bytes = read_body
        path = request.path_info
        return created(path, yield(parse_json(bytes), nil)) if key.nil?

        fingerprint = Idempotency.fingerprint(request.request_method, path, bytes)
        stored = @store.find_idempotency_key(key)
        replay(stored, fingerprint, path) if stored
        begin
          resource = yield(parse_json(bytes), Store::IdempotentWrite.new(key, fingerprint))
        rescue SQLite3::ConstraintException
          # The key's primary key: a concurrent request stored it first. Any other
          # constraint (no stored key) is re-raised as it was.
          replay(@store.find_idempotency_key(key) || raise, fingerprint, path)
        end
        created(path, resource)
      end

      def replay(stored, fingerprint, path)
        status_code, headers, body = Idempotency.replay(stored, fingerprint, path)
        halt status_code, JSON_HEADERS.merge(headers), [body]
      end

      def created(path, resource)
        json 201, resource, "location" => "#{path}/#{resource['id']}"
      end

      # The JSON body: 415 for a non-JSON Content-Type, 413 if over 1 MiB,
      # 400 if empty, not UTF-8 or not JSON (read strictly, see StrictJson).
      def read_json
        parse_json(read_body)
      end

      # The raw body bytes: 415 for a non-JSON Content-Type, 413 if over limit
      # (1 MiB; POST /import passes 32 MiB). Neither Puma 5 nor Rack 2 limits a
      # body, so this is the only limit.
      def read_body(limit = MAX_BODY_BYTES)
        type = env["CONTENT_TYPE"]
        if type && !JSON_TYPE_RE.match?(type.b.force_encoding(Encoding::ISO_8859_1).encode(Encoding::UTF_8))
          raise ApiError.new(415, "unsupported_media_type", "request body must be application/json")
        end
        raise too_large(limit) if env["CONTENT_LENGTH"].to_i > limit

        # read(n) answers nil, not "", for an empty body; String.new makes an unfrozen copy.
        bytes = String.new(env["rack.input"]&.read(limit + 1) || "")
        raise too_large(limit) if bytes.bytesize > limit

        bytes
      end

      # Body bytes as JSON: 400 if empty, not UTF-8 or not JSON.
      def parse_json(bytes)
        text = bytes.dup.force_encoding(Encoding::UTF_8)
        raise ApiError.new(400, "invalid_json", "request body is not valid UTF-8") unless text.valid_encoding?

        text = text.delete_prefix("\uFEFF") # as TextDecoder does
        raise ApiError.new(400, "invalid_json", "request body is empty") if Validation.blank?(text)

        begin
          StrictJson.parse(text)
        rescue StrictJson::ParseError
          raise ApiError.new(400, "invalid_json", "request body is not valid JSON")
        end
      end

      def too_large(limit)
        ApiError.new(413, "payload_too_large", "request body must be at most #{limit} bytes")
      end
    end
  end
end
