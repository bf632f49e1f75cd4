# frozen_string_literal: true

# The ruby-sqlite backend of the GTD API: Sinatra app, SQLite store, migrations, settings.
require_relative "gtd/errors"
require_relative "gtd/idempotency"
require_relative "gtd/log"
require_relative "gtd/settings"
require_relative "gtd/strict_json"
require_relative "gtd/validation"
require_relative "gtd/rrule"
require_relative "gtd/cursor"
require_relative "gtd/graph"
require_relative "gtd/import"
require_relative "gtd/migrate"
require_relative "gtd/store"
require_relative "gtd/app"
