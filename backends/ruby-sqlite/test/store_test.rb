# frozen_string_literal: true

require_relative "test_helper"
require "tmpdir"

class StoreTest < Minitest::Test
  include GtdTestHelpers

  TS = /\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\z/
  UUID = /\A[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\z/

  def setup
    @store = memory_store
  end

  def teardown
    @store.close
  end

  def test_create_task_applies_defaults_in_wire_order
    task = @store.create_task({ "title" => "Buy milk" })
    assert_equal %w[id title notes status project_id context due_date defer_until repeat blocked_by blocked
                    completed_at created_at updated_at], task.keys
    assert_match UUID, task["id"]
    assert_equal ["Buy milk", nil, "inbox", nil, nil, nil], task.values_at("title", "notes", "status", "project_id", "context", "due_date")
    assert_equal "2026-01-02T03:04:05.678Z", task["created_at"]
    assert_equal task["created_at"], task["updated_at"]
    assert_equal task, @store.get_task(task["id"])
  end

  def test_timestamp_format
    assert_match TS, Gtd::Store.timestamp
    assert_equal "2026-02-07T12:34:56.789Z", Gtd::Store.timestamp(Time.utc(2026, 2, 7, 12, 34, 56.789r))
  end

  def test_lists_are_newest_first_even_within_one_millisecond
    ids = Array.new(5) { |i| @store.create_task({ "title" => "t#{i}" })["id"] }
    assert_equal ids.reverse, @store.list_tasks["tasks"].map { |t| t["id"] }
    projects = Array.new(3) { @store.create_project({ "name" => "p" })["id"] }
    assert_equal projects.reverse, @store.list_projects["projects"].map { |p| p["id"] }
  end

  def test_filters_combine
    a = @store.create_task({ "title" => "a", "status" => "next", "context" => "@home" })
    @store.create_task({ "title" => "b", "status" => "done", "context" => "@home" })
    @store.create_task({ "title" => "c", "status" => "next" })
    assert_equal [a["id"]], @store.list_tasks({ "status" => "next", "context" => "@home" })["tasks"].map { |t| t["id"] }
    assert_equal [], @store.list_tasks({ "project_id" => "00000000-0000-4000-8000-000000000000" })["tasks"]
  end

  def test_update_changes_only_given_fields_and_updated_at
    store = memory_store(now: "2026-01-01T00:00:00.000Z")
    task = store.create_task({ "title" => "before", "notes" => "keep" })
    store.instance_variable_set(:@now, -> { "2026-01-01T00:00:01.000Z" })
    updated, = store.update_task(task["id"], { "title" => "after", "context" => nil })
    assert_equal ["after", "keep", task["created_at"], "2026-01-01T00:00:01.000Z"],
                 updated.values_at("title", "notes", "created_at", "updated_at")
    assert_nil store.update_task("00000000-0000-4000-8000-000000000000", { "title" => "x" })
  ensure
    store&.close
  end

  def test_text_round_trips_exactly
    title = "a\u0000b\tc\u001fd 🦷 歯"
    assert_equal title, @store.get_task(@store.create_task({ "title" => title })["id"])["title"]
  end

  def test_delete_project_detaches_its_tasks_without_touching_them
    project = @store.create_project({ "name" => "p" })
    assert @store.project_exists?(project["id"])
    task = @store.create_task({ "title" => "t", "project_id" => project["id"] })
    assert @store.delete_project(project["id"])
    refute @store.delete_project(project["id"])
    refute @store.project_exists?(project["id"])
    after = @store.get_task(task["id"])
    assert_nil after["project_id"]
    assert_equal task["updated_at"], after["updated_at"]
  end

  def test_delete_task
    task = @store.create_task({ "title" => "t" })
    assert @store.delete_task(task["id"])
    refute @store.delete_task(task["id"])
    assert_nil @store.get_task(task["id"])
  end

  def test_ping_fails_when_the_schema_is_gone
    Dir.mktmpdir do |dir|
      path = File.join(dir, "gtd.db")
      db = Gtd::Store.open_database(path)
      Gtd::Migrate.run(db)
      store = Gtd::Store.new(db)
      assert_nil store.ping
      other = SQLite3::Database.new(path)
      other.execute("DROP TABLE tasks")
      other.close
      assert_raises(SQLite3::Exception) { store.ping }
      store.close
    end
  end

  def test_file_database_uses_wal_and_foreign_keys
    Dir.mktmpdir do |dir|
      path = File.join(dir, "nested", "gtd.db")
      db = Gtd::Store.open_database(path)
      assert_equal "wal", db.get_first_value("PRAGMA journal_mode")
      assert_equal 1, db.get_first_value("PRAGMA foreign_keys")
      assert_equal Gtd::Store::BUSY_TIMEOUT_MS, db.get_first_value("PRAGMA busy_timeout")
      db.close
    end
  end

  def test_close_is_idempotent
    @store.close
    @store.close
  end
end
