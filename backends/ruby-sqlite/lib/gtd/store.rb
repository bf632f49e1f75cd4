# frozen_string_literal: true

require "fileutils"
require "json"
require "securerandom"
require "sqlite3"
require "time"

module Gtd
  # All SQL lives here: the same statements as backends/shared/src/store.ts,
  # over one sqlite3 connection with cached prepared statements.
  #
  # Concurrency: ONE connection, guarded by a mutex, shared by all Puma threads.
  # Why not a connection per thread: the sqlite3 gem (1.4) keeps Ruby's global
  # VM lock while SQLite runs, including while SQLite's busy handler sleeps.
  # With several connections, a thread waiting on busy_timeout for another
  # connection's write lock would stop the very thread that holds that lock,
  # so the wait could only end in a timeout ("database is locked"). Threads
  # gain no parallelism inside SQLite either way, so a mutex serialises them
  # deterministically and keeps busy_timeout for other processes only (the
  # sqlite3 shell, a backup). Statements are short: a few at most per request.
  class Store
    TASK_COLUMNS = "id, title, notes, status, project_id, context, due_date, created_at, updated_at"
    PROJECT_COLUMNS = "id, name, status, notes, created_at, updated_at"
    # Newest first; `seq` (insertion order) breaks ties within one millisecond.
    NEWEST_FIRST = "ORDER BY created_at DESC, seq DESC"

    TASK_WRITABLE = %w[title notes status project_id context due_date].freeze
    TASK_FILTERABLE = %w[status project_id context].freeze
    PROJECT_WRITABLE = %w[name status notes].freeze
    PROJECT_FILTERABLE = %w[status].freeze

    INSERT_TASK = <<~SQL
      INSERT INTO tasks (id, title, notes, status, project_id, context, due_date, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING #{TASK_COLUMNS}
    SQL
    INSERT_PROJECT = <<~SQL
      INSERT INTO projects (id, name, status, notes, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?) RETURNING #{PROJECT_COLUMNS}
    SQL

    # Idempotency-Key: a stored answer replays for 24 h after the key's first use.
    IDEMPOTENCY_TTL_S = 24 * 60 * 60
    FIND_KEY = "SELECT fingerprint, status, body FROM idempotency_keys WHERE key = ? AND created_at > ?"
    PURGE_KEYS = "DELETE FROM idempotency_keys WHERE created_at <= ?"
    INSERT_KEY = "INSERT INTO idempotency_keys (key, fingerprint, status, body, created_at) VALUES (?, ?, ?, ?, ?)"

    # The key and request fingerprint a create stores along with its row.
    IdempotentWrite = Struct.new(:key, :fingerprint)

    BUSY_TIMEOUT_MS = 5000

    # RFC 3339 UTC with milliseconds, e.g. 2026-02-07T12:34:56.789Z.
    def self.timestamp(time = Time.now) = time.utc.strftime("%Y-%m-%dT%H:%M:%S.%LZ")

    # Opens (creating it and its folder if needed) and configures a database:
    # WAL journal, foreign keys on (ON DELETE SET NULL detaches tasks), busy timeout.
    def self.open_database(path)
      FileUtils.mkdir_p(File.dirname(path)) unless path == ":memory:"
      db = SQLite3::Database.new(path)
      db.busy_timeout = BUSY_TIMEOUT_MS
      db.execute("PRAGMA journal_mode = WAL")
      db.execute("PRAGMA foreign_keys = ON")
      db.execute("PRAGMA synchronous = NORMAL")
      db
    end

    # now: -> String (current RFC 3339 time); new_id: -> String; both injectable for tests.
    def initialize(db, now: -> { Store.timestamp }, new_id: -> { SecureRandom.uuid })
      @db = db
      @now = now
      @new_id = new_id
      @mutex = Mutex.new
      @statements = {}
    end

    # Raises if the schema cannot be queried; /health turns that into a 503.
    def ping
      first("SELECT (SELECT 1 FROM tasks LIMIT 1) AS t, (SELECT 1 FROM projects LIMIT 1) AS p")
      nil
    end

    # --- tasks ----------------------------------------------------------------

    def list_tasks(filter = {})
      clause, params = where(filter, TASK_FILTERABLE)
      all("SELECT #{TASK_COLUMNS} FROM tasks #{clause} #{NEWEST_FIRST}", params)
    end

    def get_task(id)
      first("SELECT #{TASK_COLUMNS} FROM tasks WHERE id = ?", [id])
    end

    # With idempotency (an IdempotentWrite), the key and the answer are stored in the same transaction.
    def create_task(fields, idempotency: nil)
      now = @now.call
      insert(INSERT_TASK, [@new_id.call, fields.fetch("title"), fields["notes"], fields["status"] || "inbox",
                           fields["project_id"], fields["context"], fields["due_date"], now, now], idempotency)
    end

    # Returns the updated task, or nil when there is no such task.
    def update_task(id, fields)
      sets, params = assignments(fields, TASK_WRITABLE)
      first("UPDATE tasks SET #{[*sets, 'updated_at = ?'].join(', ')} WHERE id = ? RETURNING #{TASK_COLUMNS}",
            [*params, @now.call, id])
    end

    def delete_task(id)
      run("DELETE FROM tasks WHERE id = ?", [id]).positive?
    end

    # --- projects -------------------------------------------------------------

    def list_projects(filter = {})
      clause, params = where(filter, PROJECT_FILTERABLE)
      all("SELECT #{PROJECT_COLUMNS} FROM projects #{clause} #{NEWEST_FIRST}", params)
    end

    def get_project(id)
      first("SELECT #{PROJECT_COLUMNS} FROM projects WHERE id = ?", [id])
    end

    def project_exists?(id)
      !first("SELECT 1 AS found FROM projects WHERE id = ?", [id]).nil?
    end

    def create_project(fields, idempotency: nil)
      now = @now.call
      insert(INSERT_PROJECT, [@new_id.call, fields.fetch("name"), fields["status"] || "active", fields["notes"], now, now],
             idempotency)
    end

    def update_project(id, fields)
      sets, params = assignments(fields, PROJECT_WRITABLE)
      first("UPDATE projects SET #{[*sets, 'updated_at = ?'].join(', ')} WHERE id = ? RETURNING #{PROJECT_COLUMNS}",
            [*params, @now.call, id])
    end

    # The schema's ON DELETE SET NULL detaches the project's tasks (foreign keys are on).
    def delete_project(id)
      run("DELETE FROM projects WHERE id = ?", [id]).positive?
    end

    # --- Idempotency-Key --------------------------------------------------------

    # {"fingerprint", "status", "body"} stored for key within the last 24 h, or nil (never used, or expired).
    def find_idempotency_key(key)
      first(FIND_KEY, [key, key_cutoff])
    end

    # Finalizes the cached statements, then closes the connection (idempotent).
    def close
      @mutex.synchronize do
        @statements.each_value { |statement| statement.close unless statement.closed? }
        @statements.clear
        @db.close unless @db.closed?
      end
    end

    private

    # created_at at or before this has expired: 24 h before now.
    def key_cutoff
      Store.timestamp(Time.iso8601(@now.call) - IDEMPOTENCY_TTL_S)
    end

    # The INSERT ... RETURNING row. With a key: in one IMMEDIATE transaction, the expired keys
    # are purged (lazily, so the table stays bounded and an expired copy of this key is gone),
    # the row inserted, and the key stored with the row as its answer. A key stored meanwhile
    # by a concurrent request breaks the primary key and rolls all of it back.
    def insert(sql, params, idempotency)
      return first(sql, params) if idempotency.nil?

      row = nil
      @mutex.synchronize do
        @db.transaction(:immediate) do # sqlite3 1.4 answers true here, not the block's value
          query(PURGE_KEYS, [key_cutoff])
          row = query(sql, params).first
          query(INSERT_KEY, [idempotency.key, idempotency.fingerprint, 201, JSON.generate(row), @now.call])
        end
      end
      row
    end

    # `WHERE a = ? AND b = ?` from the filter keys that are set, in a fixed column order.
    def where(filter, columns)
      used = columns.select { |column| filter.key?(column) }
      return ["", []] if used.empty?

      ["WHERE #{used.map { |column| "#{column} = ?" }.join(' AND ')}", used.map { |column| filter[column] }]
    end

    # The SET list of an UPDATE from validated fields, in a fixed column order.
    def assignments(fields, columns)
      used = columns.select { |column| fields.key?(column) }
      [used.map { |column| "#{column} = ?" }, used.map { |column| fields[column] }]
    end

    # All rows as Hashes keyed by column name (in SELECT order, which is the JSON order).
    def all(sql, params = [])
      @mutex.synchronize { query(sql, params) }
    end

    # `all` for a caller that holds the mutex.
    def query(sql, params)
      statement = prepared(sql)
      columns = statement.columns
      statement.execute(*params).map { |row| columns.zip(row).to_h }
    end

    def first(sql, params = [])
      all(sql, params).first
    end

    # A statement without rows; returns the number of rows it changed.
    def run(sql, params = [])
      @mutex.synchronize do
        prepared(sql).execute(*params)
        @db.changes
      end
    end

    # Prepared once per SQL text (the texts are a small fixed set: the filter and
    # SET combinations) and reused; a statement whose table was dropped by someone
    # else fails on its next run, which is what /health must report.
    def prepared(sql)
      @statements[sql] ||= @db.prepare(sql)
    end
  end
end
