# frozen_string_literal: true

require "json"
require "time"

module Gtd
  # One JSON line per log entry on stderr, like the TypeScript backends.
  module Log
    module_function

    def info(message, **extra) = write("info", message, extra)
    def error(message, **extra) = write("error", message, extra)

    def write(level, message, extra)
      line = { "time" => Time.now.utc.iso8601(3), "level" => level, "message" => message }
      extra.each { |key, value| line[key.to_s] = value }
      $stderr.puts(JSON.generate(line))
    rescue StandardError
      $stderr.puts(%({"level":"#{level}","message":#{message.to_s.inspect}}))
    end
  end
end
