# frozen_string_literal: true

# Puma configuration for the ruby-sqlite backend. From backends/ruby-sqlite:
#
#   puma -C puma.rb
#
# Settings (PORT, HOST, DATABASE_URL, BACKEND_ID) are parsed here, once, by
# Gtd::Settings; a bad value stops start-up (exit 2) naming the variable.
$LOAD_PATH.unshift(File.expand_path("lib", __dir__))
require "gtd/settings"

settings = Gtd::Settings.current

rackup File.expand_path("config.ru", __dir__)
environment "production"
bind settings.bind_url
tag settings.backend_id

# One process (no cluster workers): SQLite has a single writer, and the app
# shares one connection between its threads behind a mutex (see Gtd::Store).
# A few threads still let slow clients and JSON work overlap with the database.
workers 0
threads 5, 5

# SIGTERM (docker stop) and SIGINT: stop accepting, let in-flight requests
# finish, then exit 0 (Puma's default re-raises SIGTERM, giving status 143).
# config.ru's at_exit closes the database afterwards.
raise_exception_on_sigterm false
force_shutdown_after 25

log_requests false
# JSON log lines for "listening" and "shutting down" (lib/puma/plugin/gtd_lifecycle.rb).
plugin :gtd_lifecycle
