defmodule Gtd.ServerV2Test do
  # The v2 routes over HTTP (registered store and listener: one server at a time).
  use ExUnit.Case, async: false

  import Gtd.TestServer

  @json [{"content-type", "application/json"}]

  setup do
    dir = Path.join(System.tmp_dir!(), "gtd-server-v2-test-#{System.unique_integer([:positive])}")
    for child <- Gtd.Application.children(settings(dir)), do: start_supervised!(child)
    on_exit(fn -> File.rm_rf!(dir) end)
    :ok
  end

  defp create(body) do
    {201, _, created} = request(:post, "/tasks", @json, body)
    json(created)
  end

  defp header(headers, name), do: :proplists.get_value(name, headers, nil)

  test "the completing PATCH of a repeating task names the occurrence in Next-Occurrence-Id" do
    task = create(~s({"title": "water plants", "repeat": {"rule": "FREQ=DAILY", "from": "completion"}}))
    {200, headers, _} = request(:patch, "/tasks/#{task["id"]}?today=2026-12-05", @json, ~s({"status": "done"}))
    {200, _, next} = request(:get, "/tasks/#{header(headers, "next-occurrence-id")}")
    assert Map.take(json(next), ~w(title defer_until)) == %{"title" => "water plants", "defer_until" => "2026-12-06"}
  end

  test "a PATCH that completes nothing has no Next-Occurrence-Id" do
    task = create(~s({"title": "once"}))
    {200, headers, _} = request(:patch, "/tasks/#{task["id"]}", @json, ~s({"status": "done"}))
    assert header(headers, "next-occurrence-id") == nil
  end

  test "the task list answer carries next_cursor" do
    for n <- 1..2, do: create(~s({"title": "t#{n}"}))
    {200, _, body} = request(:get, "/tasks?limit=1")
    assert is_binary(json(body)["next_cursor"])
  end

  test "an invalid today is a 422 naming today" do
    {422, _, body} = request(:get, "/counts?today=2026-02-30")
    assert json(body)["error"]["field"] == "today"
  end

  test "today on GET /tasks/{id} is checked" do
    task = create(~s({"title": "t"}))
    {422, _, body} = request(:get, "/tasks/#{task["id"]}?today=tomorrow")
    assert json(body)["error"]["field"] == "today"
  end

  test "an unknown parameter on /counts is named" do
    {422, _, body} = request(:get, "/counts?status=next")
    assert json(body)["error"]["field"] == "status"
  end

  test "/counts allows GET, HEAD and OPTIONS" do
    {405, headers, _} = request(:post, "/counts", @json, "{}")
    assert header(headers, "allow") == "GET, HEAD, OPTIONS"
  end

  test "/import allows POST and OPTIONS" do
    {405, headers, _} = request(:get, "/import")
    assert header(headers, "allow") == "POST, OPTIONS"
  end

  test "any parameter on /export is named" do
    {422, _, body} = request(:get, "/export?version=2")
    assert json(body)["error"]["field"] == "version"
  end

  test "an export imports into the same backend as all unchanged" do
    create(~s({"title": "a"}))
    {200, _, exported} = request(:get, "/export")
    {200, _, counts} = request(:post, "/import", @json, exported)
    n = &{:number, &1}
    assert json(counts)["tasks"] == %{"created" => n.("0"), "updated" => n.("0"), "unchanged" => n.("1")}
  end

  test "/import takes a body over 1 MiB" do
    doc = ~s({"version": 2, "projects": [], "tasks": [], "exported_at": ") <> String.duplicate("x", 2_000_000) <> ~s("})
    assert {200, _, _} = request(:post, "/import", @json, doc)
  end

  test "/import ignores a malformed Idempotency-Key" do
    headers = [{"idempotency-key", "a b"} | @json]
    assert {200, _, _} = request(:post, "/import", headers, ~s({"version": 2, "projects": [], "tasks": []}))
  end

  test "an import error names the item and member" do
    doc = ~s({"version": 2, "projects": [], "tasks": [{"id": "x"}]})
    {422, _, body} = request(:post, "/import", @json, doc)
    assert json(body)["error"]["field"] == "tasks[0].id"
  end

  test "blocked in a task body is refused by name" do
    {422, _, body} = request(:post, "/tasks", @json, ~s({"title": "t", "blocked": false}))
    assert json(body)["error"]["field"] == "blocked"
  end
end
