# frozen_string_literal: true

module Gtd
  # Applies backends/shared/migrations/*.sql (the same files wrangler applies to
  # D1 and bun-sqlite's migrate.ts applies) in name order. PRAGMA user_version
  # records how many have run; each file and its version bump commit together,
  # so a database file moves freely between this backend and bun-sqlite.
  module Migrate
    DIR = File.expand_path("../../../shared/migrations", __dir__)
    FILE_RE = /\A\d{4}_.*\.sql\z/

    class TooNew < StandardError; end

    module_function

    def files(dir = DIR)
      Dir.children(dir).select { |name| FILE_RE.match?(name) }.sort
    end

    # Returns the schema version the database is at afterwards (= number of files).
    # Raises TooNew when the database was migrated by newer code: we refuse to run on it.
    def run(db, dir = DIR)
      names = files(dir)
      current = db.get_first_value("PRAGMA user_version")
      if current > names.length
        raise TooNew, "database schema version #{current} is newer than this code (#{names.length} migrations)"
      end

      names.each_with_index do |name, index|
        next if index < current

        sql = File.read(File.join(dir, name), encoding: "UTF-8")
        db.transaction do
          db.execute_batch(sql)
          db.execute("PRAGMA user_version = #{index + 1}")
        end
      end
      names.length
    end
  end
end
