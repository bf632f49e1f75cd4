# frozen_string_literal: true

require_relative "test_helper"

class SettingsTest < Minitest::Test
  BACKEND_DIR = File.expand_path("..", __dir__)

  def test_defaults
    s = Gtd::Settings.load({})
    assert_equal 3003, s.port
    assert_equal "0.0.0.0", s.host
    assert_equal File.join(BACKEND_DIR, "data", "gtd.db"), s.database_path
    assert_equal "ruby-sqlite", s.backend_id
    assert_equal "tcp://0.0.0.0:3003", s.bind_url
  end

  def test_values_from_the_environment
    s = Gtd::Settings.load("PORT" => "8080", "HOST" => "::1", "DATABASE_URL" => "file:/tmp/x.db", "BACKEND_ID" => "rb-eu")
    assert_equal [8080, "::1", "/tmp/x.db", "rb-eu"], [s.port, s.host, s.database_path, s.backend_id]
    assert_equal "tcp://[::1]:8080", s.bind_url
    assert_equal ":memory:", Gtd::Settings.load("DATABASE_URL" => "file::memory:").database_path
    assert_equal File.join(BACKEND_DIR, "x", "y.db"), Gtd::Settings.load("DATABASE_URL" => "file:x/y.db").database_path
  end

  def test_empty_host_and_backend_id_fall_back_to_defaults
    s = Gtd::Settings.load("HOST" => "", "BACKEND_ID" => "")
    assert_equal ["0.0.0.0", "ruby-sqlite"], [s.host, s.backend_id]
  end

  def test_bad_values_name_the_variable
    [["PORT", "seventy"], ["PORT", "70000"], ["PORT", "0"], ["PORT", ""], ["PORT", "80 "],
     ["DATABASE_URL", "/tmp/x.db"], ["DATABASE_URL", "file:"], ["DATABASE_URL", ""]].each do |name, value|
      error = assert_raises(Gtd::Settings::Error, "#{name}=#{value.inspect}") { Gtd::Settings.load(name => value) }
      assert_match(/\A#{name} /, error.message)
    end
  end
end
