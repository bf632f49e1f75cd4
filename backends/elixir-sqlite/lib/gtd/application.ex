defmodule Gtd.Application do
  @moduledoc """
  The OTP application: settings parsed once, then a supervisor over

      Gtd.Store   the SQLite connection (migrations applied in its init, so
                  the listener only starts on a current schema)
      Gtd.Http    the mochiweb listener; each connection is its own process

  one_for_one: a store that crashes is restarted while the listener keeps
  serving (requests meanwhile answer 500, /health 503); a listener that
  crashes is restarted without touching the store. A crashed connection
  process takes only its own request with it.

  SIGTERM: OTP's default handler calls init:stop/0, which stops this
  application: the supervisor stops Gtd.Http first (it stops accepting and
  waits for requests in flight, see Gtd.Http.terminate/2), then the store
  (which closes the database). The node then exits with status 0.
  """
  use Application

  @impl true
  def start(_type, _args) do
    case Gtd.Settings.load(System.get_env()) do
      {:ok, settings} ->
        Supervisor.start_link(children(settings),
          strategy: :one_for_one,
          max_restarts: 10,
          max_seconds: 10,
          name: Gtd.Supervisor
        )

      {:error, variable, message} ->
        Gtd.Log.error("invalid setting: #{message}", %{variable: variable})
        # Status 2, as the other backends: a usage error, not a crash.
        System.halt(2)
    end
  end

  @doc "The supervised children for `settings` (tests start them with their own settings)."
  @spec children(Gtd.Settings.t()) :: [Supervisor.child_spec()]
  def children(settings) do
    [
      {Gtd.Store, path: settings.database_path, migrations: settings.migrations_dir},
      Supervisor.child_spec({Gtd.Http, settings}, shutdown: Gtd.Http.drain_ms() + 1000)
    ]
  end
end
