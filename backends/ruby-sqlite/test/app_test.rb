# frozen_string_literal: true

require_relative "test_helper"
require "rack/mock"
require "tmpdir"

# The HTTP layer through Rack, without a server (the black-box contract suite
# in tests/contract covers the rest against a running Puma).
class AppTest < Minitest::Test
  include GtdTestHelpers

  MISSING = "00000000-0000-4000-8000-000000000000"

  def setup
    @store = memory_store
    @logged = []
    log = Object.new
    logged = @logged
    log.define_singleton_method(:error) { |message, **extra| logged << [message, extra] }
    @app = Rack::MockRequest.new(Gtd::App.new(store: @store, backend_id: "ruby-test", log: log))
  end

  def teardown
    @store.close
  end

  def json(response) = JSON.parse(response.body)

  def post_json(path, body, type: "application/json")
    @app.post(path, input: body, "CONTENT_TYPE" => type)
  end

  def test_health
    response = @app.get("/health")
    assert_equal 200, response.status
    assert_equal({ "status" => "ok", "backend" => "ruby-test", "db" => "ok" }, json(response))
    assert_equal "application/json; charset=utf-8", response.headers["content-type"]
    assert_equal "no-store", response.headers["cache-control"]
  end

  def test_create_sets_location_and_get_returns_it
    response = post_json("/tasks", '{"title": "t"}')
    assert_equal 201, response.status
    task = json(response)
    assert_equal "/tasks/#{task['id']}", response.headers["location"]
    assert_equal task, json(@app.get("/tasks/#{task['id'].upcase}"))
  end

  def test_routing_errors
    assert_equal 404, @app.get("/tasks/").status
    assert_equal "not_found", json(@app.get("/nope"))["error"]["code"]
    response = @app.put("/tasks")
    assert_equal 405, response.status
    assert_equal "GET, HEAD, POST, OPTIONS", response.headers["allow"]
    response = @app.request("OPTIONS", "/projects/#{MISSING}")
    assert_equal 204, response.status
    assert_equal "GET, HEAD, PATCH, DELETE, OPTIONS", response.headers["allow"]
    assert_equal "", response.body
    assert_equal 404, @app.get("/tasks/not-a-uuid").status
  end

  def test_body_errors
    assert_equal 415, post_json("/tasks", '{"title": "t"}', type: "text/plain").status
    assert_equal 413, post_json("/tasks", "[#{' ' * Gtd::App::MAX_BODY_BYTES}]").status
    assert_equal 400, post_json("/tasks", "").status
    assert_equal 400, post_json("/tasks", "{".b).status
    assert_equal 400, post_json("/tasks", "\xff".b).status
    response = post_json("/tasks", '{"title": "t", "\ud800": 1}')
    assert_equal 422, response.status
    assert_equal "\\ud800", response.body[/"field":"(.*?)"/, 1]
  end

  def test_check_order_path_before_body_before_project
    assert_equal 404, @app.patch("/tasks/#{MISSING}", input: '{"title": 5}', "CONTENT_TYPE" => "text/plain").status
    response = post_json("/tasks", %({"title": "t", "project_id": "#{MISSING}"}))
    assert_equal [422, "project_id"], [response.status, json(response)["error"]["field"]]
  end

  def test_query_errors_name_the_parameter
    response = @app.get("/tasks?a[=1")
    assert_equal [422, "a["], [response.status, json(response)["error"]["field"]]
    response = @app.get("/tasks?status=inbox&status=next")
    assert_equal [422, "status"], [response.status, json(response)["error"]["field"]]
  end

  def test_health_is_503_and_logged_when_the_database_fails
    @store.close
    response = @app.get("/health")
    assert_equal 503, response.status
    assert_equal({ "status" => "error", "backend" => "ruby-test", "db" => "error" }, json(response))
    assert_equal "health check: database query failed", @logged.last.first
  end

  def test_health_is_503_when_the_schema_is_gone
    # Another connection drops a table the health query touches (the store's statement is cached).
    Dir.mktmpdir do |dir|
      path = File.join(dir, "gtd.db")
      store = Gtd::Store.new(Gtd::Store.open_database(path).tap { |db| Gtd::Migrate.run(db) })
      app = Rack::MockRequest.new(Gtd::App.new(store: store, backend_id: "ruby-test", log: Object.new.tap do |log|
        log.define_singleton_method(:error) { |*| nil }
      end))
      assert_equal 200, app.get("/health").status
      other = SQLite3::Database.new(path)
      other.execute("DROP TABLE tasks")
      other.close
      assert_equal 503, app.get("/health").status
    ensure
      store&.close
    end
  end

  def test_unexpected_errors_are_500_without_internals
    @store.close
    response = @app.get("/tasks")
    assert_equal 500, response.status
    assert_equal({ "error" => { "code" => "internal_error", "message" => "internal server error" } }, json(response))
    assert_equal "unhandled error", @logged.last.first
  end

  def test_path_normalisation
    assert_equal "/health", Gtd::App.normalize_path("/tasks/../health")
    assert_equal "/tasks/", Gtd::App.normalize_path("/tasks/.")
    assert_equal "/tasks/x", Gtd::App.normalize_path("/tasks\\x")
    assert_equal "/", Gtd::App.normalize_path("/tasks/%2E%2e")
  end
end
