# frozen_string_literal: true

require_relative "test_helper"

class ValidationTest < Minitest::Test
  include GtdTestHelpers

  V = Gtd::Validation
  MISSING = "00000000-0000-4000-8000-000000000000"

  def test_create_task_applies_rules_and_normalises
    fields = V.parse_task_fields({ "title" => "t", "project_id" => MISSING.upcase, "context" => "@home" }, :create)
    assert_equal({ "title" => "t", "project_id" => MISSING, "context" => "@home" }, fields)
  end

  def test_create_task_requires_title
    assert_invalid("title") { V.parse_task_fields({}, :create) }
    assert_invalid("title") { V.parse_task_fields({ "notes" => "n" }, :create) }
  end

  def test_title_length_counts_code_points
    assert V.parse_task_fields({ "title" => "🙂" * 500 }, :create)
    assert_invalid("title") { V.parse_task_fields({ "title" => "🙂" * 501 }, :create) }
  end

  def test_blank_uses_javascript_whitespace
    ["", "   ", "\u00a0", "\u3000\u2028", "\ufeff"].each do |title|
      assert_invalid("title") { V.parse_task_fields({ "title" => title }, :create) }
    end
    assert V.parse_task_fields({ "title" => "\u200b" }, :create) # zero-width space is not whitespace
  end

  def test_wrong_types_and_nulls
    assert_invalid("title") { V.parse_task_fields({ "title" => 5 }, :create) }
    assert_invalid("status") { V.parse_task_fields({ "title" => "t", "status" => nil }, :create) }
    assert_invalid("notes") { V.parse_task_fields({ "title" => "t", "notes" => false }, :create) }
    assert_equal({ "notes" => nil }, V.parse_task_fields({ "notes" => nil }, :update))
  end

  def test_unknown_and_read_only_fields_are_named
    %w[id created_at updated_at priority].each do |key|
      assert_invalid(key) { V.parse_task_fields({ "title" => "t", key => "x" }, :create) }
    end
  end

  def test_unknown_fields_are_reported_in_javascript_key_order
    assert_invalid("5") { V.parse_task_fields({ "title" => "t", "zz" => 1, "5" => 2 }, :create) }
    assert_invalid("zz") { V.parse_task_fields({ "title" => "t", "zz" => 1, "4294967295" => 2 }, :create) }
  end

  def test_fields_are_checked_in_spec_order
    assert_invalid("title") { V.parse_task_fields({ "status" => "bogus", "title" => 5 }, :create) }
  end

  def test_patch_with_empty_object_or_non_object
    assert_invalid(nil) { V.parse_task_fields({}, :update) }
    [[], "x", 1, nil].each { |body| assert_invalid(nil) { V.parse_task_fields(body, :update) } }
  end

  def test_context_rule
    ["@home", "@a" + "x" * 48, "@🙂"].each { |c| assert V.parse_task_fields({ "context" => c }, :update) }
    ["home", "@", "@two words", "@" + "x" * 50, "@a\u00a0b", 7].each do |c|
      assert_invalid("context") { V.parse_task_fields({ "context" => c }, :update) }
    end
  end

  def test_due_date_must_be_a_real_calendar_date
    %w[2024-02-29 2000-02-29 1999-12-31].each { |d| assert V.parse_task_fields({ "due_date" => d }, :update) }
    ["2023-02-29", "2100-02-29", "2024-13-01", "2024-04-31", "2024-00-10", "2024-1-5", "2024-01-05\n", ""].each do |d|
      assert_invalid("due_date") { V.parse_task_fields({ "due_date" => d }, :update) }
    end
  end

  def test_lone_surrogate_is_invalid_unicode
    value = Gtd::StrictJson.parse('"bad \ud800"')
    error = assert_invalid("notes") { V.parse_task_fields({ "title" => "t", "notes" => value }, :create) }
    assert_match(/valid Unicode/, error.message)
  end

  def test_project_fields
    assert_equal({ "name" => "p", "status" => "done" }, V.parse_project_fields({ "name" => "p", "status" => "done" }, :create))
    assert_invalid("status") { V.parse_project_fields({ "name" => "p", "status" => "inbox" }, :create) }
    assert_invalid("name") { V.parse_project_fields({ "name" => "n" * 201 }, :create) }
  end

  def test_query_string_is_split_like_urlsearchparams
    assert_equal [["status", "inbox"], ["context", "@a b"], ["x", ""], ["", "y"]],
                 V.parse_query_string("status=inbox&&context=%40a+b&x&=y&")
    assert_equal [["bad", "%ZZ"], ["\uFFFD", "1"]], V.parse_query_string("bad=%ZZ&%FF=1")
  end

  def test_task_filter_rules
    assert_equal({ "status" => "next", "project_id" => MISSING }, V.parse_task_filter([["status", "next"], ["project_id", MISSING.upcase]]))
    assert_invalid("status") { V.parse_task_filter([["status", ""]]) }
    assert_invalid("status") { V.parse_task_filter([["status", "INBOX"]]) }
    assert_invalid("colour") { V.parse_task_filter([["colour", "red"], ["status", "bogus"]]) }
    assert_invalid("status") { V.parse_task_filter([["status", "inbox"], ["status", "inbox"]]) }
    assert_invalid("context") { V.parse_task_filter([["context", "home"]]) }
    assert_invalid("name") { V.parse_project_filter([["name", "x"]]) }
  end

  def test_uuid_check_for_path_ids
    assert V.uuid?(MISSING.upcase)
    refute V.uuid?("not-a-uuid")
    refute V.uuid?("#{MISSING}\n")
  end
end
