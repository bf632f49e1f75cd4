# frozen_string_literal: true

# Rack entry point, loaded by Puma (see puma.rb): opens and migrates the
# database, then serves Gtd::App. Settings were parsed once, by puma.rb.
$LOAD_PATH.unshift(File.expand_path("lib", __dir__))
require "gtd"

settings = Gtd::Settings.current

begin
  db = Gtd::Store.open_database(settings.database_path)
  schema_version = Gtd::Migrate.run(db)
rescue Gtd::Migrate::TooNew, SQLite3::Exception, SystemCallError => e
  # Refuse to serve: a database migrated by newer code, or one we cannot open.
  Gtd::Log.error("cannot use the database (DATABASE_URL)", database: settings.database_path, error: e.message)
  exit 1
end

store = Gtd::Store.new(db)

# Runs after Puma has stopped (SIGTERM/SIGINT: in-flight requests finished first).
at_exit do
  store.close
  Gtd::Log.info("database closed", database: settings.database_path)
end

Gtd::Log.info("database ready", database: settings.database_path, schema_version: schema_version)
run Gtd::App.new(store: store, backend_id: settings.backend_id)
