defmodule Gtd.RouterTest do
  use ExUnit.Case, async: true

  alias Gtd.{ApiError, Router}

  test "paths are normalised as a URL parser does" do
    assert Router.normalize_path("/tasks/../projects") == "/projects"
    assert Router.normalize_path("/a/./b/%2e%2E/c") == "/a/c"
    assert Router.normalize_path("\\tasks") == "/tasks"
    assert Router.normalize_path("/tasks/..") == "/"
  end

  test "path segments decode like decodeURIComponent, or stay as they are" do
    assert Router.decode_segment("%41b") == "Ab"
    assert Router.decode_segment("%zz") == "%zz"
    assert Router.decode_segment("%ff") == "%ff"
  end

  describe "Idempotency-Key" do
    test "is absent without the header" do
      assert Router.idempotency_key(%{}) == nil
    end

    test "is the value, or the characters between double quotes" do
      assert Router.idempotency_key(%{"idempotency-key" => ["abc-123"]}) == "abc-123"
      assert Router.idempotency_key(%{"idempotency-key" => [~s("abc")]}) == "abc"
    end

    test "accepts 255 visible ASCII characters" do
      key = String.duplicate("~", 255)
      assert Router.idempotency_key(%{"idempotency-key" => [key]}) == key
    end

    for {bad, index} <-
          Enum.with_index(["", "a b", String.duplicate("k", 256), "é", ~s(""), ~s("a b"), "a\tb", "abc, abc"]) do
      test "refuses malformed key ##{index} (#{inspect(String.slice(bad, 0, 12))}) with 400" do
        error = assert_raise ApiError, fn -> Router.idempotency_key(%{"idempotency-key" => [unquote(bad)]}) end
        assert {error.status, error.code, error.field} == {400, "invalid_idempotency_key", nil}
      end
    end

    test "refuses a repeated header" do
      error = assert_raise ApiError, fn -> Router.idempotency_key(%{"idempotency-key" => ["a", "a"]}) end
      assert error.code == "invalid_idempotency_key"
    end
  end

  test "the fingerprint is SHA-256 of METHOD, path, newline and the body bytes" do
    request = %Router.Request{
      method: "POST",
      raw_path: "/tasks",
      query: "",
      headers: %{},
      read_body: fn _limit -> "" end
    }

    expected = :crypto.hash(:sha256, "POST /tasks\n{}") |> Base.encode16(case: :lower)
    assert Router.fingerprint(request, "{}") == expected
  end

  test "an unknown route is a 404 before anything else" do
    request = %Router.Request{
      method: "PUT",
      raw_path: "/nope",
      query: "",
      headers: %{},
      read_body: fn _limit -> raise "never read" end
    }

    assert {404, _headers, _body} = Router.call(request)
  end

  test "OPTIONS answers 204 with Allow on every route" do
    request = %Router.Request{
      method: "OPTIONS",
      raw_path: "/tasks/x",
      query: "",
      headers: %{},
      read_body: fn _limit -> "" end
    }

    assert {204, headers, ""} = Router.call(request)
    assert {"allow", "GET, HEAD, PATCH, DELETE, OPTIONS"} in headers
  end

  test "a wrong method is a 405 with Allow, before the Idempotency-Key is looked at" do
    request = %Router.Request{
      method: "PUT",
      raw_path: "/tasks",
      query: "",
      headers: %{"idempotency-key" => ["a b"]},
      read_body: fn _limit -> "" end
    }

    assert {405, headers, _body} = Router.call(request)
    assert {"allow", "GET, HEAD, POST, OPTIONS"} in headers
  end
end
