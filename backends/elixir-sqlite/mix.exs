defmodule Gtd.MixProject do
  use Mix.Project

  # No hex here: every dependency is a Debian package installed into Erlang's
  # own lib directory (/usr/lib/erlang/lib), which is already on the code path.
  # They are named as applications to start, not as Mix deps (nothing to fetch):
  #   mochiweb  (erlang-mochiweb)     HTTP/1.1 server: acceptor pool, keep-alive
  #   sqlite3   (erlang-p1-sqlite3)   processone's SQLite driver (SQLite 3.40)
  def project do
    [
      app: :gtd,
      version: "0.1.0",
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      deps: [],
      elixirc_paths: if(Mix.env() == :test, do: ["lib", "test/support"], else: ["lib"]),
      aliases: [test: "test --no-start"]
    ]
  end

  def application do
    [
      mod: {Gtd.Application, []},
      extra_applications: [:logger, :crypto, :mochiweb, :sqlite3]
    ]
  end
end
