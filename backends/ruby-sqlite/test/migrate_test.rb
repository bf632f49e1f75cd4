# frozen_string_literal: true

require_relative "test_helper"
require "tmpdir"

class MigrateTest < Minitest::Test
  def test_applies_the_shared_migrations_and_records_the_version
    db = SQLite3::Database.new(":memory:")
    count = Gtd::Migrate.files.length
    assert_operator count, :>=, 1
    assert_equal count, Gtd::Migrate.run(db)
    assert_equal count, db.get_first_value("PRAGMA user_version")
    assert_equal count, Gtd::Migrate.run(db) # idempotent
    tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").flatten
    assert_includes tables, "tasks"
    assert_includes tables, "projects"
  end

  def test_applies_files_in_name_order_skipping_done_ones
    Dir.mktmpdir do |dir|
      File.write(File.join(dir, "0002_b.sql"), "CREATE TABLE b (x); INSERT INTO log VALUES ('b');")
      File.write(File.join(dir, "0001_a.sql"), "CREATE TABLE log (name); INSERT INTO log VALUES ('a');")
      File.write(File.join(dir, "README.md"), "not a migration")
      db = SQLite3::Database.new(":memory:")
      assert_equal 2, Gtd::Migrate.run(db, dir)
      assert_equal %w[a b], db.execute("SELECT name FROM log").flatten
      File.write(File.join(dir, "0003_c.sql"), "INSERT INTO log VALUES ('c');")
      assert_equal 3, Gtd::Migrate.run(db, dir)
      assert_equal %w[a b c], db.execute("SELECT name FROM log").flatten
    end
  end

  def test_a_failing_migration_leaves_the_version_unchanged
    Dir.mktmpdir do |dir|
      File.write(File.join(dir, "0001_a.sql"), "CREATE TABLE a (x);")
      File.write(File.join(dir, "0002_bad.sql"), "CREATE TABLE b (x); SELECT * FROM nowhere;")
      db = SQLite3::Database.new(":memory:")
      assert_raises(SQLite3::Exception) { Gtd::Migrate.run(db, dir) }
      assert_equal 1, db.get_first_value("PRAGMA user_version")
      assert_empty db.execute("SELECT name FROM sqlite_master WHERE name = 'b'")
    end
  end

  def test_refuses_a_database_newer_than_the_code
    db = SQLite3::Database.new(":memory:")
    db.execute("PRAGMA user_version = #{Gtd::Migrate.files.length + 1}")
    error = assert_raises(Gtd::Migrate::TooNew) { Gtd::Migrate.run(db) }
    assert_match(/newer than this code/, error.message)
  end
end
