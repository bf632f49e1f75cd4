# frozen_string_literal: true

module Gtd
  # Settings, read once from the environment at start-up; a bad value stops
  # start-up with a message naming the variable (see Settings.current).
  #
  #   PORT          TCP port to listen on. Default 3003.
  #   HOST          Address to bind. Default 0.0.0.0 (containers); tests use 127.0.0.1.
  #   DATABASE_URL  file:<path> of the SQLite database; a relative path is relative
  #                 to backends/ruby-sqlite. Default file:./data/gtd.db.
  #   BACKEND_ID    The id /health reports. Default "ruby-sqlite".
  Settings = Struct.new(:port, :host, :database_path, :backend_id, keyword_init: true) do
    def bind_url
      host.include?(":") ? "tcp://[#{host}]:#{port}" : "tcp://#{host}:#{port}"
    end
  end

  class Settings
    class Error < StandardError; end

    BACKEND_DIR = File.expand_path("../..", __dir__)

    def self.load(env = ENV)
      new(
        port: parse_port(env.fetch("PORT", "3003")),
        host: present(env["HOST"]) || "0.0.0.0",
        database_path: parse_database_url(env.fetch("DATABASE_URL", "file:./data/gtd.db")),
        backend_id: present(env["BACKEND_ID"]) || "ruby-sqlite"
      )
    end

    # The process's settings, parsed on first use (puma.rb) and shared with
    # config.ru; on a bad value: the message on stderr and exit status 2.
    def self.current
      @current ||= load
    rescue Error => e
      require_relative "log"
      Log.error("invalid setting: #{e.message}")
      exit 2
    end

    def self.present(value) = value.nil? || value.empty? ? nil : value

    def self.parse_port(raw)
      port = raw.to_i
      unless raw.match?(/\A[0-9]+\z/) && port.between?(1, 65_535)
        raise Error, "PORT must be an integer between 1 and 65535, got #{raw.inspect}"
      end

      port
    end

    def self.parse_database_url(raw)
      unless raw.start_with?("file:") && raw.length > "file:".length
        raise Error, "DATABASE_URL must look like file:<path>, got #{raw.inspect}"
      end

      path = raw.delete_prefix("file:")
      return path if path == ":memory:"

      File.expand_path(path, BACKEND_DIR)
    end
  end
end
