# frozen_string_literal: true

require "fileutils"
require "json"
require "securerandom"
require "sqlite3"
require "time"

require_relative "cursor"
require_relative "errors"
require_relative "import"
require_relative "rrule"

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
  # sqlite3 shell, a backup). Statements are short: a few at most per request,
  # except POST /import, whose one transaction holds the lock for its whole
  # document (about 1-2 s for 10,000 tasks); other requests wait meanwhile.
  class Store
    # Newest first; `seq` (insertion order) breaks ties within one millisecond.
    NEWEST_FIRST = "ORDER BY t.created_at DESC, t.seq DESC"
    OLDEST_FIRST = "ORDER BY t.created_at, t.seq"

    # v2 (contract §2): a task is deferred while open with defer_until after today,
    # blocked while open with an open blocker, available when open and neither.
    # Never NULL, so NOT(...) is the exact complement. `?` in DEFERRED is today.
    OPEN = "t.status <> 'done'"
    DEFERRED = "(#{OPEN} AND t.defer_until IS NOT NULL AND t.defer_until > ?)"
    BLOCKED = "(#{OPEN} AND EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks b ON b.id = d.blocker_id " \
              "WHERE d.task_id = t.id AND b.status <> 'done'))"
    AVAILABLE = "(#{OPEN} AND NOT #{DEFERRED} AND NOT #{BLOCKED})"

    # Everything a served task needs, in one query: blocked_by and blocked are
    # subqueries on task_dependencies' primary key (no query per row). `seq` is
    # for the cursor and is not served.
    TASK_SELECT = <<~SQL.tr("\n", " ")
      SELECT t.seq, t.id, t.title, t.notes, t.status, t.project_id, t.context, t.due_date, t.defer_until,
             t.repeat_rule, t.repeat_from,
             (SELECT group_concat(blocker_id, ',') FROM task_dependencies WHERE task_id = t.id) AS blocked_by,
             #{BLOCKED} AS blocked, t.completed_at, t.created_at, t.updated_at
      FROM tasks t
    SQL
    # task_counts as "open,done,next" from one pass over the project's tasks (tasks_by_project).
    PROJECT_SELECT = <<~SQL.tr("\n", " ")
      SELECT t.seq, t.id, t.name, t.status, t.notes, t.reviewed_on,
             (SELECT sum(status <> 'done') || ',' || sum(status = 'done') || ',' || sum(status = 'next')
              FROM tasks WHERE project_id = t.id) AS task_counts,
             t.created_at, t.updated_at
      FROM projects t
    SQL
    EXPORT_PROJECTS = "SELECT t.seq, t.id, t.name, t.status, t.notes, t.reviewed_on, t.created_at, t.updated_at " \
                      "FROM projects t #{OLDEST_FIRST}".freeze

    TASK_WRITABLE = %w[title notes status project_id context due_date defer_until].freeze
    PROJECT_WRITABLE = %w[name status notes reviewed_on].freeze

    INSERT_TASK = <<~SQL
      INSERT INTO tasks (id, title, notes, status, project_id, context, due_date, defer_until,
                         repeat_rule, repeat_from, completed_at, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    SQL
    UPDATE_TASK = <<~SQL
      UPDATE tasks SET title = ?, notes = ?, status = ?, project_id = ?, context = ?, due_date = ?, defer_until = ?,
                       repeat_rule = ?, repeat_from = ?, completed_at = ?, created_at = ?, updated_at = ?
      WHERE id = ?
    SQL
    INSERT_PROJECT = <<~SQL
      INSERT INTO projects (id, name, status, notes, reviewed_on, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
    SQL
    UPDATE_PROJECT = <<~SQL
      UPDATE projects SET name = ?, status = ?, notes = ?, reviewed_on = ?, created_at = ?, updated_at = ? WHERE id = ?
    SQL
    INSERT_DEPENDENCY = "INSERT INTO task_dependencies (task_id, blocker_id) VALUES (?, ?)"
    CLEAR_DEPENDENCIES = "DELETE FROM task_dependencies WHERE task_id = ?"
    EXISTING_TASKS = "SELECT count(*) AS n FROM tasks WHERE id IN (SELECT value FROM json_each(?))"
    # Would `task` become its own blocker? Follows blocked_by from the new blockers.
    REACHES = <<~SQL.tr("\n", " ")
      WITH RECURSIVE reach(id) AS (
        SELECT value FROM json_each(?)
        UNION SELECT d.blocker_id FROM task_dependencies d JOIN reach r ON d.task_id = r.id
      ) SELECT 1 AS found FROM reach WHERE id = ? LIMIT 1
    SQL

    # /counts in one pass; each number is the length of the matching list answer.
    TASK_COUNTS = <<~SQL.tr("\n", " ")
      WITH f AS (SELECT t.status, #{DEFERRED} AS deferred, #{BLOCKED} AS blocked FROM tasks t)
      SELECT coalesce(sum(status = 'inbox' AND NOT deferred), 0) AS inbox,
             coalesce(sum(status = 'next' AND NOT deferred), 0) AS "next",
             coalesce(sum(status = 'waiting' AND NOT deferred), 0) AS waiting,
             coalesce(sum(status = 'scheduled' AND NOT deferred), 0) AS scheduled,
             coalesce(sum(status = 'someday' AND NOT deferred), 0) AS someday,
             coalesce(sum(status = 'done'), 0) AS done,
             coalesce(sum(deferred), 0) AS deferred,
             coalesce(sum(blocked), 0) AS blocked,
             coalesce(sum(status <> 'done' AND NOT deferred AND NOT blocked), 0) AS available
      FROM f
    SQL
    PROJECT_COUNTS = "SELECT status, count(*) AS n FROM projects GROUP BY status"
    # Keys spelled as stored: GROUP BY on TEXT uses the BINARY collation, so "@home" and "@HOME" stay apart.
    CONTEXT_COUNTS = <<~SQL.tr("\n", " ")
      SELECT context, count(*) AS n FROM tasks
      WHERE status <> 'done' AND context IS NOT NULL GROUP BY context
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

    # A page of tasks, newest first: {"tasks" => [...], "next_cursor" => String | nil}.
    # filter: the parsed query (Validation.parse_task_filter): status, project_id,
    # context, deferred, blocked, available, q, today, limit, cursor.
    def list_tasks(filter = {})
      today = filter["today"] || today_utc
      conditions = []
      params = []
      %w[status project_id context].each do |column|
        next unless filter.key?(column)

        conditions << "t.#{column} = ?"
        params << filter[column]
      end
      { "deferred" => DEFERRED, "blocked" => BLOCKED, "available" => AVAILABLE }.each do |name, sql|
        next unless filter.key?(name)

        conditions << (filter[name] ? sql : "NOT #{sql}")
        params.concat([today] * sql.count("?"))
      end
      if filter.key?("q")
        # LIKE folds ASCII letters only (the contract's rule); %, _ and \ are made literal.
        pattern = "%#{filter['q'].gsub(/[\\%_]/) { |c| "\\#{c}" }}%"
        conditions << "(t.title LIKE ? ESCAPE '\\' OR t.notes LIKE ? ESCAPE '\\')"
        params.push(pattern, pattern)
      end
      rows = page(TASK_SELECT, conditions, params, filter)
      { "tasks" => rows[:items].map { |row| task_from(row) }, "next_cursor" => rows[:next_cursor] }
    end

    def get_task(id)
      row = first("#{TASK_SELECT} WHERE t.id = ?", [id])
      row && task_from(row)
    end

    # Creates a task; blocked_by is checked here (existence, duplicates) inside
    # the write transaction, after the caller's project_id check. With
    # idempotency (an IdempotentWrite), the key and the answer are stored in the
    # same transaction.
    def create_task(fields, idempotency: nil)
      write(idempotency) do
        now = @now.call
        blockers = fields["blocked_by"] || []
        check_blockers(nil, blockers)
        status = fields["status"] || "inbox"
        repeat = fields["repeat"]
        id = @new_id.call
        query(INSERT_TASK, [id, fields.fetch("title"), fields["notes"], status, fields["project_id"],
                            fields["context"], fields["due_date"], fields["defer_until"], repeat&.fetch("rule"),
                            repeat&.fetch("from"), status == "done" ? now : nil, now, now])
        blockers.each { |blocker| query(INSERT_DEPENDENCY, [id, blocker]) }
        task_by_id(id)
      end
    end

    # The updated task and the id of the next occurrence it created (or nil), or
    # nil when there is no such task. A PATCH that moves a repeating task from an
    # open status to done creates its next occurrence in the same transaction.
    # today: the request's date (YYYY-MM-DD) or nil for the clock's UTC date.
    def update_task(id, fields, today: nil)
      write do
        before = query("SELECT status FROM tasks WHERE id = ?", [id]).first
        before && update_existing_task(id, before["status"], fields, today || today_utc)
      end
    end

    # Also removes the task from every blocked_by (without touching those tasks).
    def delete_task(id)
      write do
        query(CLEAR_DEPENDENCIES, [id])
        query("DELETE FROM task_dependencies WHERE blocker_id = ?", [id])
        query("DELETE FROM tasks WHERE id = ?", [id])
        @db.changes.positive?
      end
    end

    # GET /counts: {"tasks" => {...}, "projects" => {...}, "contexts" => {context => open tasks}}
    # from three aggregate queries under one lock.
    def counts(today: nil)
      @mutex.synchronize do
        tasks = query(TASK_COUNTS, [today || today_utc]).first
        projects = { "active" => 0, "someday" => 0, "done" => 0 }
        query(PROJECT_COUNTS, []).each { |row| projects[row["status"]] = row["n"] }
        contexts = query(CONTEXT_COUNTS, []).to_h { |row| [row["context"], row["n"]] }
        { "tasks" => tasks, "projects" => projects, "contexts" => contexts }
      end
    end

    # --- projects -------------------------------------------------------------

    # A page of projects, newest first: {"projects" => [...], "next_cursor" => String | nil}.
    def list_projects(filter = {})
      conditions = filter.key?("status") ? ["t.status = ?"] : []
      params = filter.key?("status") ? [filter["status"]] : []
      rows = page(PROJECT_SELECT, conditions, params, filter)
      { "projects" => rows[:items].map { |row| project_from(row) }, "next_cursor" => rows[:next_cursor] }
    end

    def get_project(id)
      row = first("#{PROJECT_SELECT} WHERE t.id = ?", [id])
      row && project_from(row)
    end

    def project_exists?(id)
      !first("SELECT 1 AS found FROM projects WHERE id = ?", [id]).nil?
    end

    def create_project(fields, idempotency: nil)
      write(idempotency) do
        now = @now.call
        id = @new_id.call
        query(INSERT_PROJECT, [id, fields.fetch("name"), fields["status"] || "active", fields["notes"],
                               fields["reviewed_on"], now, now])
        project_by_id(id)
      end
    end

    def update_project(id, fields)
      write do
        sets, params = assignments(fields, PROJECT_WRITABLE)
        query("UPDATE projects SET #{[*sets, 'updated_at = ?'].join(', ')} WHERE id = ?", [*params, @now.call, id])
        @db.changes.positive? ? project_by_id(id) : nil
      end
    end

    # The schema's ON DELETE SET NULL detaches the project's tasks (foreign keys are on).
    def delete_project(id)
      run("DELETE FROM projects WHERE id = ?", [id]).positive?
    end

    # --- export / import ------------------------------------------------------

    # GET /export: the whole store, oldest first, read in one transaction (a consistent snapshot).
    def export
      projects = tasks = nil
      @mutex.synchronize do
        @db.transaction(:deferred) do
          projects = query(EXPORT_PROJECTS, []).map { |row| project_from(row) }
          tasks = query("#{TASK_SELECT} #{OLDEST_FIRST}", []).map { |row| task_from(row).tap { |t| t.delete("blocked") } }
        end
      end
      { "version" => Import::VERSION, "exported_at" => @now.call, "projects" => projects, "tasks" => tasks }
    end

    # POST /import: validates doc against the store and merges it, all in one
    # IMMEDIATE transaction; raises ApiError (422) and writes nothing when refused.
    # Returns {"projects" => {"created", "updated", "unchanged"}, "tasks" => {...}}.
    def import(doc)
      write do
        plan = Import.plan(doc, snapshot)
        apply_projects(plan.projects)
        apply_tasks(plan.tasks)
        { "projects" => tally(plan.projects), "tasks" => tally(plan.tasks) }
      end
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

    def today_utc = @now.call[0, 10]

    # Runs the block in one IMMEDIATE transaction under the mutex and returns its
    # value. With a key (an IdempotentWrite) the block's value is the created
    # resource: expired keys are purged (lazily, so the table stays bounded and
    # an expired copy of this key is gone) and the key is stored with that
    # resource as its answer. A key stored meanwhile by a concurrent request
    # breaks the primary key and rolls all of it back. The block must not
    # `return`/`next` out (sqlite3 1.4 would then neither commit nor roll back).
    def write(idempotency = nil)
      result = nil
      @mutex.synchronize do
        @db.transaction(:immediate) do # sqlite3 1.4 answers true here, not the block's value
          query(PURGE_KEYS, [key_cutoff]) if idempotency
          result = yield
          if idempotency
            query(INSERT_KEY, [idempotency.key, idempotency.fingerprint, 201, JSON.generate(result), @now.call])
          end
        end
      end
      result
    end

    def update_existing_task(id, old_status, fields, today)
      check_blockers(id, fields["blocked_by"]) if fields.key?("blocked_by")
      now = @now.call
      new_status = fields["status"] || old_status
      sets, params = assignments(fields, TASK_WRITABLE)
      if fields.key?("repeat")
        sets.push("repeat_rule = ?", "repeat_from = ?")
        params.push(fields["repeat"]&.fetch("rule"), fields["repeat"]&.fetch("from"))
      end
      completing = old_status != "done" && new_status == "done"
      if completing || (old_status == "done" && new_status != "done")
        sets << "completed_at = ?"
        params << (completing ? now : nil)
      end
      query("UPDATE tasks SET #{[*sets, 'updated_at = ?'].join(', ')} WHERE id = ?", [*params, now, id])
      if fields.key?("blocked_by")
        query(CLEAR_DEPENDENCIES, [id])
        fields["blocked_by"].each { |blocker| query(INSERT_DEPENDENCY, [id, blocker]) }
      end
      task = task_by_id(id)
      next_id = completing && task["repeat"] ? insert_next_occurrence(task, old_status, today, now) : nil
      [task, next_id]
    end

    # v2 §5: the next occurrence of a repeating task just completed; returns its id.
    def insert_next_occurrence(task, old_status, today, now)
      rule = RRule.parse(task["repeat"]["rule"])
      due = task["due_date"]
      defer = task["defer_until"]
      anchor = task["repeat"]["from"] == "due" ? (due || defer || today) : today
      if due
        next_due = RRule.next_date(rule, anchor)
        next_defer = defer && RRule.add_days(next_due, -RRule.days_between(defer, due))
      else
        next_due = nil
        next_defer = RRule.next_date(rule, anchor)
      end
      id = @new_id.call
      query(INSERT_TASK, [id, task["title"], task["notes"], old_status, task["project_id"], task["context"],
                          next_due, next_defer, task["repeat"]["rule"], task["repeat"]["from"], nil, now, now])
      id
    end

    # blocked_by of task `id` (nil for a task being created): each an existing
    # task, not the task itself, none twice; then no cycle. 422 field blocked_by.
    def check_blockers(id, blockers)
      return if blockers.empty?

      unique = blockers.uniq
      unless query(EXISTING_TASKS, [JSON.generate(unique)]).first["n"] == unique.length
        raise ApiError.invalid("blocked_by", "blocked_by names a task that does not exist")
      end
      raise ApiError.invalid("blocked_by", "a task cannot be blocked by itself") if blockers.include?(id)
      raise ApiError.invalid("blocked_by", "blocked_by names a task twice") unless unique.length == blockers.length
      return if id.nil? || query(REACHES, [JSON.generate(blockers), id]).empty?

      raise ApiError.invalid("blocked_by", "blocked_by would make a dependency cycle")
    end

    # For a caller that holds the mutex.
    def task_by_id(id) = task_from(query("#{TASK_SELECT} WHERE t.id = ?", [id]).first)
    def project_by_id(id) = project_from(query("#{PROJECT_SELECT} WHERE t.id = ?", [id]).first)

    # One page (keyset on created_at, seq): {items: rows, next_cursor: String | nil}.
    # limit + 1 rows are read to know whether another page follows.
    def page(select, conditions, params, filter)
      conditions = conditions.dup
      params = params.dup
      if (position = filter["cursor"])
        # A row value, so SQLite seeks the index to the cursor instead of scanning down to it.
        conditions << "(t.created_at, t.seq) < (?, ?)"
        params.push(position[0], position[1])
      end
      sql = +"#{select} #{conditions.empty? ? '' : "WHERE #{conditions.join(' AND ')}"} #{NEWEST_FIRST}"
      limit = filter["limit"]
      sql << " LIMIT #{limit + 1}" if limit
      rows = all(sql, params)
      return { items: rows, next_cursor: nil } unless limit && rows.length > limit

      rows = rows.first(limit)
      { items: rows, next_cursor: Cursor.encode(rows.last["created_at"], rows.last["seq"]) }
    end

    # A served task (v2 member order) from a TASK_SELECT row.
    def task_from(row)
      {
        "id" => row["id"], "title" => row["title"], "notes" => row["notes"], "status" => row["status"],
        "project_id" => row["project_id"], "context" => row["context"], "due_date" => row["due_date"],
        "defer_until" => row["defer_until"],
        "repeat" => row["repeat_rule"] && { "rule" => row["repeat_rule"], "from" => row["repeat_from"] },
        "blocked_by" => (row["blocked_by"] || "").split(",").sort,
        "blocked" => row["blocked"] == 1,
        "completed_at" => row["completed_at"], "created_at" => row["created_at"], "updated_at" => row["updated_at"]
      }
    end

    # A served project from a PROJECT_SELECT row (an EXPORT_PROJECTS row has no task_counts).
    def project_from(row)
      project = { "id" => row["id"], "name" => row["name"], "status" => row["status"], "notes" => row["notes"],
                  "reviewed_on" => row["reviewed_on"] }
      if row.key?("task_counts")
        open, done, next_count = (row["task_counts"] || "0,0,0").split(",").map(&:to_i)
        project["task_counts"] = { "open" => open, "done" => done, "next" => next_count }
      end
      project.merge("created_at" => row["created_at"], "updated_at" => row["updated_at"])
    end

    # What Import.plan needs from the store, read inside the import's transaction.
    def snapshot
      dependencies = {}
      prepared("SELECT task_id, blocker_id FROM task_dependencies").execute.each do |(task, blocker)|
        (dependencies[task] ||= []) << blocker
      end
      Import::Snapshot.new(
        projects: prepared("SELECT id, updated_at FROM projects").execute.to_a.to_h,
        tasks: prepared("SELECT id, updated_at FROM tasks").execute.to_a.to_h,
        dependencies: dependencies
      )
    end

    def apply_projects(items)
      insert = prepared(INSERT_PROJECT)
      update = prepared(UPDATE_PROJECT)
      items.each do |item|
        v = item.values
        values = [v["name"], v["status"], v["notes"], v["reviewed_on"], v["created_at"], v["updated_at"]]
        case item.action
        when :create then insert.execute(v["id"], *values)
        when :update then update.execute(*values, v["id"])
        end
      end
    end

    # Rows first, dependencies after (a blocker may come later in the document).
    def apply_tasks(items)
      insert = prepared(INSERT_TASK)
      update = prepared(UPDATE_TASK)
      clear = prepared(CLEAR_DEPENDENCIES)
      add = prepared(INSERT_DEPENDENCY)
      changed = items.reject { |item| item.action == :unchanged }
      changed.each do |item|
        v = item.values
        values = [v["title"], v["notes"], v["status"], v["project_id"], v["context"], v["due_date"], v["defer_until"],
                  v["repeat"]&.fetch("rule"), v["repeat"]&.fetch("from"), v["completed_at"], v["created_at"],
                  v["updated_at"]]
        if item.action == :create
          insert.execute(v["id"], *values)
        else
          update.execute(*values, v["id"])
          clear.execute(v["id"])
        end
      end
      changed.each { |item| item.values["blocked_by"].each { |blocker| add.execute(item.values["id"], blocker) } }
    end

    def tally(items)
      counts = { "created" => 0, "updated" => 0, "unchanged" => 0 }
      items.each { |item| counts[{ create: "created", update: "updated", unchanged: "unchanged" }[item.action]] += 1 }
      counts
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
