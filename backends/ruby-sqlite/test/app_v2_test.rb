# frozen_string_literal: true

require_relative "test_helper"
require "rack/mock"

# The v2 routes, headers and query rules through Rack (no server).
class AppV2Test < Minitest::Test
  include GtdTestHelpers

  def setup
    @store = memory_store
    @app = Rack::MockRequest.new(Gtd::App.new(store: @store, backend_id: "ruby-test"))
  end

  def teardown
    @store.close
  end

  def json(response) = JSON.parse(response.body)
  def send_json(method, path, body) = @app.request(method, path, input: body, "CONTENT_TYPE" => "application/json")
  def field(response) = json(response)["error"]["field"]

  def test_completing_patch_names_the_next_occurrence
    task = json(send_json("POST", "/tasks", '{"title":"t","repeat":{"rule":"FREQ=DAILY","from":"completion"}}'))
    response = send_json("PATCH", "/tasks/#{task['id']}?today=2026-12-31", '{"status":"done"}')
    assert_equal 200, response.status
    occurrence = json(@app.get("/tasks/#{response.headers['next-occurrence-id']}"))
    assert_equal "2027-01-01", occurrence["defer_until"]
  end

  def test_plain_patch_has_no_next_occurrence_header
    task = json(send_json("POST", "/tasks", '{"title":"t"}'))
    assert_nil send_json("PATCH", "/tasks/#{task['id']}", '{"status":"done"}').headers["next-occurrence-id"]
  end

  def test_invalid_today_is_422_on_item_routes
    task = json(send_json("POST", "/tasks", '{"title":"t"}'))
    response = @app.get("/tasks/#{task['id']}?today=2026-02-30")
    assert_equal [422, "today"], [response.status, field(response)]
    response = send_json("PATCH", "/tasks/#{task['id']}?today=x", '{"title":"u"}')
    assert_equal [422, "today"], [response.status, field(response)]
  end

  def test_item_routes_still_ignore_other_parameters
    task = json(send_json("POST", "/tasks", '{"title":"t"}'))
    assert_equal 200, @app.get("/tasks/#{task['id']}?whatever=1").status
  end

  def test_list_query_errors_name_the_parameter
    { "limit=0" => "limit", "limit=01" => "limit", "limit=501" => "limit", "cursor=zzz" => "cursor",
      "deferred=yes" => "deferred", "available=" => "available", "q=#{'x' * 201}" => "q", "today=2026-1-1" => "today" }
      .each do |query, name|
        response = @app.get("/tasks?#{query}")
        assert_equal [422, name], [response.status, field(response)], query
      end
  end

  def test_lists_answer_next_cursor
    assert_equal({ "tasks" => [], "next_cursor" => nil }, json(@app.get("/tasks")))
    assert_equal({ "projects" => [], "next_cursor" => nil }, json(@app.get("/projects?limit=5&today=2026-01-01")))
  end

  def test_counts_refuse_other_parameters_and_methods
    assert_equal 200, @app.get("/counts?today=2026-01-01").status
    assert_equal "status", field(@app.get("/counts?status=next"))
    response = @app.post("/counts")
    assert_equal [405, "GET, HEAD, OPTIONS"], [response.status, response.headers["allow"]]
  end

  def test_export_refuses_any_parameter
    assert_equal 200, @app.get("/export").status
    assert_equal "today", field(@app.get("/export?today=2026-01-01"))
  end

  def test_import_allows_bodies_over_1_mib
    doc = { "version" => 2, "exported_at" => "x" * (2 * Gtd::App::MAX_BODY_BYTES), "projects" => [], "tasks" => [] }
    response = send_json("POST", "/import", JSON.generate(doc))
    assert_equal 200, response.status
  end

  def test_import_refuses_bodies_over_32_mib
    response = @app.post("/import", input: "", "CONTENT_TYPE" => "application/json",
                                    "CONTENT_LENGTH" => (Gtd::App::MAX_IMPORT_BYTES + 1).to_s)
    assert_equal 413, response.status
  end

  def test_other_routes_keep_the_1_mib_limit
    assert_equal 413, send_json("POST", "/projects", "[#{' ' * Gtd::App::MAX_BODY_BYTES}]").status
  end

  def test_import_ignores_idempotency_key
    response = @app.post("/import", input: '{"version":2,"projects":[],"tasks":[]}', "CONTENT_TYPE" => "application/json",
                                    "HTTP_IDEMPOTENCY_KEY" => "not valid")
    assert_equal 200, response.status
  end

  def test_read_only_members_are_422
    assert_equal "blocked", field(send_json("POST", "/tasks", '{"title":"t","blocked":false}'))
    assert_equal "completed_at", field(send_json("POST", "/tasks", '{"title":"t","completed_at":null}'))
    assert_equal "task_counts", field(send_json("POST", "/projects", '{"name":"p","task_counts":{}}'))
  end

  def test_blocked_by_null_is_422
    assert_equal "blocked_by", field(send_json("POST", "/tasks", '{"title":"t","blocked_by":null}'))
  end

  def test_project_id_is_checked_before_blocked_by
    body = '{"title":"t","project_id":"00000000-0000-4000-8000-000000000000",' \
           '"blocked_by":["00000000-0000-4000-8000-000000000000"]}'
    assert_equal "project_id", field(send_json("POST", "/tasks", body))
  end

  def test_idempotent_replay_serves_the_v2_task
    headers = { "CONTENT_TYPE" => "application/json", "HTTP_IDEMPOTENCY_KEY" => "k1" }
    first = @app.post("/tasks", input: '{"title":"t","defer_until":"2026-12-01"}', **headers)
    again = @app.post("/tasks", input: '{"title":"t","defer_until":"2026-12-01"}', **headers)
    assert_equal [json(first), "true"], [json(again), again.headers["idempotent-replayed"]]
  end
end
