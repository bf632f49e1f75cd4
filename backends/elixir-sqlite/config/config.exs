import Config

# Every log line is one JSON object on stderr, the shape the other backends
# write ({"time", "level", "message", ...}); see Gtd.Log.
config :logger, :console,
  device: :standard_error,
  format: {Gtd.Log, :format},
  metadata: [:error, :pid]

config :logger,
  handle_otp_reports: true,
  handle_sasl_reports: false

if config_env() == :test do
  config :logger, level: :warning
end
