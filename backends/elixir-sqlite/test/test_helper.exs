# The application is not started for tests (mix.exs aliases `test` to
# `test --no-start`): tests start the store and listener themselves, on a
# free port and a temporary database, never on make run's port 3005.
{:ok, _} = Application.ensure_all_started(:inets)
{:ok, _} = Application.ensure_all_started(:mochiweb)
{:ok, _} = Application.ensure_all_started(:crypto)
# This VM starts and stops servers by the dozen: keep only error lines (the
# nodes that process_test.exs spawns log as usual).
Application.put_env(:gtd, :quiet_info, true)
ExUnit.start()
