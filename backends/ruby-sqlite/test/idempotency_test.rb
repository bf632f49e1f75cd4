# frozen_string_literal: true

require_relative "test_helper"
require "rack/mock"

# Idempotency-Key through the Rack app over an in-memory store with a clock the
# test moves: what the black-box suite cannot reach over HTTP (24 h expiry, the
# lazy purge, atomicity of row and key, losing a race).
class IdempotencyTest < Minitest::Test
  T0 = Time.utc(2026, 1, 1)
  HOUR = 3600

  def setup
    @time = T0
    @db = Gtd::Store.open_database(":memory:")
    Gtd::Migrate.run(@db)
    @store = Gtd::Store.new(@db, now: -> { Gtd::Store.timestamp(@time) })
    @logged = logged = []
    log = Object.new
    log.define_singleton_method(:error) { |message, **extra| logged << [message, extra] }
    @app = Rack::MockRequest.new(Gtd::App.new(store: @store, backend_id: "ruby-test", log: log))
  end

  def teardown
    @store.close
    puts @logged.inspect unless @logged.empty? || passed?
  end

  def post(path, body, key = nil)
    env = { input: JSON.generate(body), "CONTENT_TYPE" => "application/json" }
    env["HTTP_IDEMPOTENCY_KEY"] = key unless key.nil?
    @app.post(path, env)
  end

  def count(table) = @db.get_first_value("SELECT count(*) FROM #{table}")

  def test_replay_within_24_hours_answers_the_first_response
    first = post("/tasks", { "title" => "once" }, "k1")
    @time = T0 + (24 * HOUR) - 0.001
    again = post("/tasks", { "title" => "once" }, "k1")
    assert_equal 201, again.status
    assert_equal "true", again.headers["idempotent-replayed"]
    assert_equal first.body, again.body
    assert_equal first.headers["location"], again.headers["location"]
    assert_equal 1, count("tasks")
  end

  def test_a_key_24_hours_old_has_expired_and_creates_again
    first = JSON.parse(post("/tasks", { "title" => "twice" }, "k1").body)
    @time = T0 + (24 * HOUR)
    again = post("/tasks", { "title" => "twice" }, "k1")
    assert_equal 201, again.status
    assert_nil again.headers["idempotent-replayed"]
    refute_equal first["id"], JSON.parse(again.body)["id"]
    assert_equal 2, count("tasks")
  end

  def test_a_replay_does_not_extend_the_lifetime
    post("/projects", { "name" => "p" }, "k1")
    @time = T0 + (23 * HOUR)
    post("/projects", { "name" => "p" }, "k1")
    @time = T0 + (24 * HOUR)
    assert_nil post("/projects", { "name" => "p" }, "k1").headers["idempotent-replayed"]
    assert_equal 2, count("projects")
  end

  def test_storing_a_new_key_purges_the_expired_ones
    post("/tasks", { "title" => "a" }, "old-1")
    post("/tasks", { "title" => "b" }, "old-2")
    @time = T0 + (25 * HOUR)
    post("/tasks", { "title" => "c" }, "new")
    assert_equal [["new"]], @db.execute("SELECT key FROM idempotency_keys")
  end

  def test_the_stored_answer_is_the_created_row
    response = post("/tasks", { "title" => "stored" }, "k1")
    status, body = @db.get_first_row("SELECT status, body FROM idempotency_keys WHERE key = 'k1'")
    assert_equal [201, response.body], [status, body]
  end

  def test_a_create_that_fails_stores_no_key
    # A task referring to a project that is gone by the time of the INSERT (foreign key).
    project = JSON.parse(post("/projects", { "name" => "p" }).body)
    @store.define_singleton_method(:project_exists?) { |_id| true }
    @db.execute("DELETE FROM projects")
    response = post("/tasks", { "title" => "t", "project_id" => project["id"] }, "k1")
    assert_equal 500, response.status
    assert_equal [0, 0], [count("tasks"), count("idempotency_keys")]
  end

  def test_a_key_stored_by_a_concurrent_request_rolls_the_create_back_and_replays
    body = JSON.generate({ "title" => "raced" })
    fingerprint = Gtd::Idempotency.fingerprint("POST", "/tasks", body)
    winner = '{"id":"3f1e1c2a-7b6d-4c1e-9a0b-1234567890ab"}'
    db = @db
    lookups = 0
    # What the request that loses the race sees: its lookup finds nothing, then the winner's key lands.
    @store.define_singleton_method(:find_idempotency_key) do |key|
      lookups += 1
      if lookups == 1
        db.execute("INSERT INTO idempotency_keys VALUES (?, ?, 201, ?, ?)", [key, fingerprint, winner, Gtd::Store.timestamp(T0)])
        return nil
      end
      super(key)
    end
    response = @app.post("/tasks", input: body, "HTTP_IDEMPOTENCY_KEY" => "k1")
    assert_equal [201, "true", winner], [response.status, response.headers["idempotent-replayed"], response.body]
    assert_equal 0, count("tasks")
  end

  def test_parse_key_reads_the_quoted_form_as_the_bare_key
    assert_equal "abc", Gtd::Idempotency.parse_key('"abc"')
  end

  def test_parse_key_is_nil_without_the_header
    assert_nil Gtd::Idempotency.parse_key(nil)
  end

  def test_parse_key_refuses_malformed_keys
    ["", '""', "a b", "a, b", "k" * 256, "cl\xC3\xA9".b, "a\tb"].each do |raw|
      error = assert_raises(Gtd::ApiError, raw.inspect) { Gtd::Idempotency.parse_key(raw) }
      assert_equal [400, "invalid_idempotency_key"], [error.status, error.code]
    end
  end

  def test_fingerprint_is_the_sha256_of_method_path_and_body
    # printf 'POST /tasks\n{}' | sha256sum
    assert_equal "dde3feeeadc32527d89144284cc04b879156ff13bde2ab107ebaee2e7f28b88e",
                 Gtd::Idempotency.fingerprint("POST", "/tasks", "{}")
  end
end
