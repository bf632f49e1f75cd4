# frozen_string_literal: true

require_relative "test_helper"

# Store: the contract v2 behaviour that needs SQL (completion, occurrences,
# dependencies, filters, paging, counts, export/import).
class StoreV2Test < Minitest::Test
  include GtdTestHelpers

  MISSING = "00000000-0000-4000-8000-000000000000"

  def setup
    @clock = "2026-12-01T10:00:00.000Z"
    db = Gtd::Store.open_database(":memory:")
    Gtd::Migrate.run(db)
    @store = Gtd::Store.new(db, now: -> { @clock })
  end

  def teardown
    @store.close
  end

  def create(fields = {}) = @store.create_task({ "title" => "t" }.merge(fields))
  def ids(tasks) = tasks.map { |task| task["id"] }
  def list(filter = {}) = @store.list_tasks(filter)["tasks"]
  def weekly(from = "due") = { "rule" => "FREQ=WEEKLY;BYDAY=MO,FR", "from" => from }

  def test_create_done_sets_completed_at
    assert_equal @clock, create("status" => "done")["completed_at"]
  end

  def test_completing_sets_completed_at_and_reopening_clears_it
    task = create
    @clock = "2026-12-01T11:00:00.000Z"
    done, = @store.update_task(task["id"], { "status" => "done" })
    assert_equal @clock, done["completed_at"]
    reopened, = @store.update_task(task["id"], { "status" => "next" })
    assert_nil reopened["completed_at"]
  end

  def test_patch_that_keeps_done_keeps_completed_at
    task = create("status" => "done")
    @clock = "2026-12-02T00:00:00.000Z"
    kept, = @store.update_task(task["id"], { "status" => "done", "title" => "x" })
    assert_equal "2026-12-01T10:00:00.000Z", kept["completed_at"]
  end

  def test_completing_a_repeating_task_creates_the_next_occurrence
    task = create("status" => "next", "due_date" => "2026-12-02", "defer_until" => "2026-11-30", "repeat" => weekly,
                  "context" => "@home", "notes" => "n")
    _, next_id = @store.update_task(task["id"], { "status" => "done" })
    occurrence = @store.get_task(next_id)
    assert_equal ["t", "n", "next", "@home", "2026-12-04", "2026-12-02", weekly, [], nil, @clock, @clock],
                 occurrence.values_at("title", "notes", "status", "context", "due_date", "defer_until", "repeat",
                                      "blocked_by", "completed_at", "created_at", "updated_at")
  end

  def test_occurrence_anchors_on_the_patched_due_date
    task = create("due_date" => "2026-12-02", "repeat" => weekly)
    _, next_id = @store.update_task(task["id"], { "status" => "done", "due_date" => "2026-12-04" })
    assert_equal "2026-12-07", @store.get_task(next_id)["due_date"]
  end

  def test_from_completion_anchors_on_today
    task = create("due_date" => "2026-12-02", "repeat" => weekly("completion"))
    _, next_id = @store.update_task(task["id"], { "status" => "done" }, today: "2026-12-07")
    assert_equal "2026-12-11", @store.get_task(next_id)["due_date"]
  end

  def test_without_due_date_the_occurrence_is_deferred_to_the_next_date
    task = create("defer_until" => "2026-12-02", "repeat" => weekly)
    _, next_id = @store.update_task(task["id"], { "status" => "done" })
    assert_equal [nil, "2026-12-04"], @store.get_task(next_id).values_at("due_date", "defer_until")
  end

  def test_without_any_date_due_anchors_on_today
    task = create("repeat" => { "rule" => "FREQ=DAILY", "from" => "due" })
    _, next_id = @store.update_task(task["id"], { "status" => "done" }, today: "2026-12-31")
    assert_equal "2027-01-01", @store.get_task(next_id)["defer_until"]
  end

  def test_done_again_creates_nothing
    task = create("repeat" => weekly)
    _, first = @store.update_task(task["id"], { "status" => "done" })
    _, again = @store.update_task(task["id"], { "status" => "done" })
    refute_nil first
    assert_nil again
    assert_equal 2, list.length
  end

  def test_completing_without_repeat_creates_nothing
    _, next_id = @store.update_task(create["id"], { "status" => "done" })
    assert_nil next_id
  end

  def test_blocked_is_computed_from_open_blockers_only
    blocker = create
    task = create("blocked_by" => [blocker["id"]])
    assert task["blocked"]
    @clock = "2026-12-01T12:00:00.000Z"
    @store.update_task(blocker["id"], { "status" => "done" })
    after = @store.get_task(task["id"])
    refute after["blocked"]
    assert_equal task["updated_at"], after["updated_at"]
  end

  def test_blocked_by_is_served_sorted
    a, b = create, create
    sorted = [a["id"], b["id"]].sort
    assert_equal sorted, create("blocked_by" => sorted.reverse)["blocked_by"]
  end

  def test_unknown_or_duplicate_blocker_is_refused
    blocker = create
    assert_invalid("blocked_by") { create("blocked_by" => [MISSING]) }
    assert_invalid("blocked_by") { create("blocked_by" => [blocker["id"], blocker["id"]]) }
    assert_equal 1, list.length
  end

  def test_self_blocking_is_refused
    task = create
    assert_invalid("blocked_by") { @store.update_task(task["id"], { "blocked_by" => [task["id"]] }) }
  end

  def test_an_indirect_cycle_is_refused
    a = create
    b = create("blocked_by" => [a["id"]])
    c = create("blocked_by" => [b["id"]])
    assert_invalid("blocked_by") { @store.update_task(a["id"], { "blocked_by" => [c["id"]] }) }
    assert_equal [], @store.get_task(a["id"])["blocked_by"]
  end

  def test_deleting_a_blocker_removes_it_without_touching_the_others
    blocker = create
    task = create("blocked_by" => [blocker["id"]])
    @clock = "2026-12-02T00:00:00.000Z"
    assert @store.delete_task(blocker["id"])
    after = @store.get_task(task["id"])
    assert_equal [[], task["updated_at"]], after.values_at("blocked_by", "updated_at")
  end

  def test_deferred_blocked_and_available_filters_complement
    deferred = create("defer_until" => "2026-12-02")
    today = create("defer_until" => "2026-12-01")
    blocked = create("blocked_by" => [today["id"]])
    done = create("status" => "done", "defer_until" => "2027-01-01")
    filter = { "today" => "2026-12-01" }
    assert_equal [deferred["id"]], ids(list(filter.merge("deferred" => true)))
    assert_equal [blocked["id"]], ids(list(filter.merge("blocked" => true)))
    assert_equal [today["id"]], ids(list(filter.merge("available" => true)))
    assert_equal [done, blocked, deferred].map { |t| t["id"] }, ids(list(filter.merge("available" => false)))
  end

  def test_q_is_ascii_case_insensitive_and_literal
    hit = create("title" => "Call BOB about 100% of it")
    create("title" => "Call bobby about 100 of it")
    create("title" => "ÉCOLE", "notes" => "x")
    notes = create("title" => "n", "notes" => "a_b")
    assert_equal [hit["id"]], ids(list("q" => "bob about 100%"))
    assert_equal [notes["id"]], ids(list("q" => "_"))
    assert_equal [], ids(list("q" => "école"))
  end

  def test_paging_survives_creates_and_deletes
    made = Array.new(5) { create }
    first = @store.list_tasks("limit" => 2)
    assert_equal ids(made.last(2).reverse), ids(first["tasks"])
    create # newer: never in a later page
    @store.delete_task(made[2]["id"])
    second = @store.list_tasks("limit" => 2, "cursor" => Gtd::Cursor.decode(first["next_cursor"]))
    assert_equal [made[1]["id"], made[0]["id"]], ids(second["tasks"])
    assert_nil second["next_cursor"]
  end

  def test_no_limit_means_no_cursor
    2.times { create }
    assert_nil @store.list_tasks({})["next_cursor"]
  end

  def test_counts_match_the_lists
    create("status" => "next")
    create("status" => "next", "defer_until" => "2026-12-05")
    create("status" => "done")
    @store.create_project({ "name" => "p", "status" => "someday" })
    counts = @store.counts(today: "2026-12-01")
    assert_equal({ "inbox" => 0, "next" => 1, "waiting" => 0, "scheduled" => 0, "someday" => 0, "done" => 1,
                   "deferred" => 1, "blocked" => 0, "available" => 1 }, counts["tasks"])
    assert_equal({ "active" => 0, "someday" => 1, "done" => 0 }, counts["projects"])
  end

  def test_counts_map_open_task_contexts_as_spelled_to_their_number
    create("context" => "@home", "status" => "next", "defer_until" => "2027-01-01")
    create("context" => "@home")
    create("context" => "@HOME", "status" => "waiting")
    create("context" => "@office", "status" => "done")
    create
    assert_equal({ "@home" => 2, "@HOME" => 1 }, @store.counts(today: "2026-12-01")["contexts"])
  end

  def test_counts_without_tasks_have_no_contexts
    assert_equal({}, @store.counts["contexts"])
  end

  def test_project_task_counts
    project = @store.create_project({ "name" => "p", "reviewed_on" => "2026-11-30" })
    create("project_id" => project["id"], "status" => "next", "defer_until" => "2027-01-01")
    create("project_id" => project["id"], "status" => "done")
    create("project_id" => project["id"])
    served = @store.get_project(project["id"])
    assert_equal [{ "open" => 2, "done" => 1, "next" => 1 }, "2026-11-30"], served.values_at("task_counts", "reviewed_on")
  end

  def test_export_then_import_elsewhere_round_trips
    project = @store.create_project({ "name" => "p" })
    a = create("project_id" => project["id"], "repeat" => weekly)
    create("blocked_by" => [a["id"]], "status" => "done")
    exported = @store.export
    other = memory_store
    counts = other.import(JSON.parse(JSON.generate(exported)))
    assert_equal({ "created" => 2, "updated" => 0, "unchanged" => 0 }, counts["tasks"])
    again = other.export
    assert_equal exported.values_at("projects", "tasks"), again.values_at("projects", "tasks")
    assert_equal({ "created" => 0, "updated" => 0, "unchanged" => 2 }, other.import(JSON.parse(JSON.generate(again)))["tasks"])
  ensure
    other&.close
  end

  def test_import_replaces_a_later_item_and_its_dependencies
    a, b = create, create
    create_doc = @store.export
    task = create_doc["tasks"].find { |t| t["id"] == b["id"] }
    task.merge!("title" => "new", "blocked_by" => [a["id"]], "updated_at" => "2026-12-09T00:00:00.000Z")
    assert_equal({ "created" => 0, "updated" => 1, "unchanged" => 1 }, @store.import(create_doc)["tasks"])
    assert_equal ["new", [a["id"]]], @store.get_task(b["id"]).values_at("title", "blocked_by")
  end

  def test_a_refused_import_writes_nothing
    doc = { "version" => 2, "projects" => [],
            "tasks" => [{ "id" => "20000000-0000-4000-8000-000000000001", "title" => "ok", "status" => "inbox",
                          "created_at" => @clock, "updated_at" => @clock },
                        { "id" => "20000000-0000-4000-8000-000000000002", "title" => "bad", "status" => "nope",
                          "created_at" => @clock, "updated_at" => @clock }] }
    assert_invalid("tasks[1].status") { @store.import(doc) }
    assert_equal [], list
  end
end
