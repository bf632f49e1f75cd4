# frozen_string_literal: true

require_relative "test_helper"

# Gtd::Import.plan: the validation order and merge decisions of POST /import,
# against an in-memory Snapshot of the store.
class ImportTest < Minitest::Test
  include GtdTestHelpers

  P1 = "10000000-0000-4000-8000-000000000001"
  T1 = "20000000-0000-4000-8000-000000000001"
  T2 = "20000000-0000-4000-8000-000000000002"
  T3 = "20000000-0000-4000-8000-000000000003"
  STORED = "20000000-0000-4000-8000-0000000000ff"
  AT = "2026-01-02T03:04:05.678Z"
  LATER = "2026-01-03T00:00:00.000Z"

  def empty_store = Gtd::Import::Snapshot.new(projects: {}, tasks: {}, dependencies: {})

  def project(**members) = { "id" => P1, "name" => "p", "status" => "active", "created_at" => AT, "updated_at" => AT }.merge(members.transform_keys(&:to_s))
  def task(id, **members) = { "id" => id, "title" => "t", "status" => "inbox", "created_at" => AT, "updated_at" => AT }.merge(members.transform_keys(&:to_s))
  def doc(projects: [], tasks: []) = { "version" => 2, "projects" => projects, "tasks" => tasks }

  def plan(document, snapshot = empty_store) = Gtd::Import.plan(document, snapshot)

  def test_minimal_items_fill_in_absent_members
    result = plan(doc(projects: [project], tasks: [task(T1.upcase)]))
    assert_equal({ "id" => T1, "title" => "t", "notes" => nil, "status" => "inbox", "project_id" => nil, "context" => nil,
                   "due_date" => nil, "defer_until" => nil, "repeat" => nil, "blocked_by" => [], "completed_at" => nil,
                   "created_at" => AT, "updated_at" => AT }, result.tasks[0].values)
    assert_equal %i[create create], [result.projects[0].action, result.tasks[0].action]
  end

  def test_exported_at_is_optional_and_ignored
    plan(doc.merge("exported_at" => 5))
  end

  def test_unknown_top_level_member_is_named
    assert_invalid("extra") { plan(doc.merge("extra" => 1)) }
  end

  def test_missing_version_is_named
    assert_invalid("version") { plan(doc.tap { |d| d.delete("version") }) }
  end

  def test_newer_version_says_so
    error = assert_invalid("version") { plan(doc.merge("version" => 3)) }
    assert_match(/newer/, error.message)
  end

  def test_other_versions_are_refused
    [1, "2", 2.5, nil, true].each { |version| assert_invalid("version") { plan(doc.merge("version" => version)) } }
  end

  def test_arrays_are_required
    assert_invalid("tasks") { plan({ "version" => 2, "projects" => [] }) }
    assert_invalid("projects") { plan(doc.merge("projects" => {})) }
  end

  def test_version_is_checked_before_the_items
    assert_invalid("version") { plan(doc(tasks: [5]).merge("version" => 1)) }
  end

  def test_projects_are_checked_before_tasks
    assert_invalid("projects[0].name") { plan(doc(projects: [project(name: " ")], tasks: [task(T1, status: "x")])) }
  end

  def test_first_bad_task_in_document_order_is_named
    assert_invalid("tasks[1].status") { plan(doc(tasks: [task(T1), task(T2, status: "x"), task(T3, title: "")])) }
  end

  def test_item_must_be_an_object
    assert_invalid("tasks[0]") { plan(doc(tasks: [[]])) }
  end

  def test_read_only_members_are_unknown
    assert_invalid("tasks[0].blocked") { plan(doc(tasks: [task(T1, blocked: false)])) }
    assert_invalid("projects[0].task_counts") { plan(doc(projects: [project(task_counts: {})])) }
  end

  def test_required_members_are_named
    assert_invalid("tasks[0].created_at") { plan(doc(tasks: [task(T1).tap { |t| t.delete("created_at") }])) }
  end

  def test_timestamps_must_be_exact_and_real
    ["2026-01-02T03:04:05Z", "2026-02-30T00:00:00.000Z", "2026-01-02T24:00:00.000Z", "2026-01-02 03:04:05.678Z"]
      .each { |bad| assert_invalid("tasks[0].updated_at") { plan(doc(tasks: [task(T1, updated_at: bad)])) } }
  end

  def test_id_twice_is_named_at_the_second
    assert_invalid("tasks[1].id") { plan(doc(tasks: [task(T1), task(T1.upcase)])) }
  end

  def test_blocked_by_null_is_refused
    assert_invalid("tasks[0].blocked_by") { plan(doc(tasks: [task(T1, blocked_by: nil)])) }
  end

  def test_repeat_rule_is_canonicalised
    values = plan(doc(tasks: [task(T1, repeat: { "rule" => "INTERVAL=1;FREQ=DAILY", "from" => "due" })])).tasks[0].values
    assert_equal({ "rule" => "FREQ=DAILY", "from" => "due" }, values["repeat"])
  end

  def test_project_id_may_name_a_document_or_stored_project
    plan(doc(projects: [project], tasks: [task(T1, project_id: P1)]))
    stored = Gtd::Import::Snapshot.new(projects: { P1 => AT }, tasks: {}, dependencies: {})
    plan(doc(tasks: [task(T1, project_id: P1)]), stored)
    assert_invalid("tasks[0].project_id") { plan(doc(tasks: [task(T1, project_id: P1)])) }
  end

  def test_blocked_by_may_name_a_later_task_or_a_stored_one
    stored = Gtd::Import::Snapshot.new(projects: {}, tasks: { STORED => AT }, dependencies: {})
    result = plan(doc(tasks: [task(T1, blocked_by: [T2.upcase, STORED]), task(T2)]), stored)
    assert_equal [T2, STORED], result.tasks[0].values["blocked_by"]
  end

  def test_blocked_by_unknown_self_or_twice_is_named
    assert_invalid("tasks[0].blocked_by") { plan(doc(tasks: [task(T1, blocked_by: [T3])])) }
    assert_invalid("tasks[0].blocked_by") { plan(doc(tasks: [task(T1, blocked_by: [T1])])) }
    assert_invalid("tasks[0].blocked_by") { plan(doc(tasks: [task(T1, blocked_by: [T2, T2]), task(T2)])) }
  end

  def test_a_cycle_in_the_document_is_named_at_its_first_task
    tasks = [task(T3), task(T1, blocked_by: [T2]), task(T2, blocked_by: [T1])]
    assert_invalid("tasks[1].blocked_by") { plan(doc(tasks: tasks)) }
  end

  def test_a_cycle_through_the_store_is_found
    stored = Gtd::Import::Snapshot.new(projects: {}, tasks: { STORED => AT }, dependencies: { STORED => [T1] })
    assert_invalid("tasks[0].blocked_by") { plan(doc(tasks: [task(T1, blocked_by: [STORED])]), stored) }
  end

  def test_an_unchanged_item_keeps_the_stored_dependencies
    # T1 is not newer, so its document blocked_by (which would close a cycle) is not used.
    stored = Gtd::Import::Snapshot.new(projects: {}, tasks: { T1 => LATER, STORED => AT }, dependencies: { STORED => [T1] })
    result = plan(doc(tasks: [task(T1, blocked_by: [STORED])]), stored)
    assert_equal :unchanged, result.tasks[0].action
  end

  def test_merge_updates_only_a_later_item
    stored = Gtd::Import::Snapshot.new(projects: {}, tasks: { T1 => AT, T2 => LATER }, dependencies: {})
    result = plan(doc(tasks: [task(T1, updated_at: LATER), task(T2, updated_at: LATER), task(T3)]), stored)
    assert_equal %i[update unchanged create], result.tasks.map(&:action)
  end
end
