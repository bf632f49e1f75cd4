# frozen_string_literal: true

$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "minitest/autorun"
require "gtd"

module GtdTestHelpers
  # A migrated in-memory database and a Store over it with a fixed clock.
  def memory_store(now: "2026-01-02T03:04:05.678Z")
    db = Gtd::Store.open_database(":memory:")
    Gtd::Migrate.run(db)
    Gtd::Store.new(db, now: -> { now })
  end

  def assert_invalid(field, &block)
    error = assert_raises(Gtd::ApiError, &block)
    assert_equal 422, error.status
    assert_equal "validation_error", error.code
    if field.nil?
      assert_nil error.field
    else
      assert_equal field, error.field
    end
    error
  end
end
