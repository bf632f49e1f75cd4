# frozen_string_literal: true

require "puma/plugin"
require_relative "../../gtd/log"
require_relative "../../gtd/settings"

# Logs the backend's lifecycle as JSON lines, like the other backends:
# "listening" once Puma is bound, "shutting down" when a stop begins.
Puma::Plugin.create do
  def start(launcher)
    settings = Gtd::Settings.current
    launcher.events.on_booted do
      Gtd::Log.info("listening", url: "http://#{settings.host}:#{settings.port}", backend: settings.backend_id,
                                 database: settings.database_path)
    end
    stopping = false
    launcher.events.on_stopped do
      Gtd::Log.info("shutting down") unless stopping # fired again once Puma's run loop returns
      stopping = true
    end
  end
end
