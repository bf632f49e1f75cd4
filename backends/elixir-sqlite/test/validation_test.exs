defmodule Gtd.ValidationTest do
  use ExUnit.Case, async: true

  alias Gtd.{ApiError, Validation}

  defp object(pairs), do: {:object, pairs}

  defp field_of(fun) do
    error = assert_raise ApiError, fun
    assert error.status == 422
    error.field
  end

  test "a task with only a title gives only the title" do
    assert Validation.parse_task_fields(object([{"title", "t"}]), :create) == %{"title" => "t"}
  end

  test "null clears a nullable field and project ids are lowercased" do
    id = "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE"

    assert Validation.parse_task_fields(object([{"notes", :null}, {"project_id", id}]), :update) ==
             %{"notes" => nil, "project_id" => String.downcase(id)}
  end

  test "the first unknown field in JavaScript key order is reported (array indexes first)" do
    assert field_of(fn -> Validation.parse_task_fields(object([{"title", "t"}, {"zz", 1}, {"7", 1}]), :create) end) ==
             "7"
  end

  test "read-only fields are refused by name" do
    assert field_of(fn -> Validation.parse_task_fields(object([{"title", "t"}, {"id", "x"}]), :create) end) == "id"
  end

  test "a missing title on create names title" do
    assert field_of(fn -> Validation.parse_task_fields(object([]), :create) end) == "title"
  end

  test "an empty PATCH is refused without a field" do
    assert field_of(fn -> Validation.parse_task_fields(object([]), :update) end) == nil
  end

  test "a body that is not an object is refused without a field" do
    assert field_of(fn -> Validation.parse_project_fields([], :create) end) == nil
  end

  test "titles count code points and refuse JavaScript whitespace only" do
    assert Validation.parse_task_fields(object([{"title", String.duplicate("🙂", 500)}]), :create)

    assert field_of(fn -> Validation.parse_task_fields(object([{"title", String.duplicate("🙂", 501)}]), :create) end) ==
             "title"

    assert field_of(fn -> Validation.parse_task_fields(object([{"title", "\u3000"}]), :create) end) == "title"
  end

  test "a lone surrogate in a text field is a 422 naming it" do
    assert field_of(fn -> Validation.parse_task_fields(object([{"title", <<0xED, 0xA0, 0x80>>}]), :create) end) ==
             "title"
  end

  test "contexts are @ and 1-49 non-space characters" do
    assert Validation.parse_task_fields(object([{"title", "t"}, {"context", "@home"}]), :create)["context"] == "@home"

    for bad <- ["home", "@", "@two words", "@a\u00a0b", "@" <> String.duplicate("x", 50)] do
      assert field_of(fn -> Validation.parse_task_fields(object([{"title", "t"}, {"context", bad}]), :create) end) ==
               "context"
    end
  end

  test "dates must be real calendar dates" do
    assert Validation.real_date?(2024, 2, 29)
    refute Validation.real_date?(2023, 2, 29)
    refute Validation.real_date?(2100, 2, 29)
    assert Validation.real_date?(2000, 2, 29)
    refute Validation.real_date?(2024, 4, 31)
    refute Validation.real_date?(2024, 13, 1)

    assert field_of(fn -> Validation.parse_task_fields(object([{"title", "t"}, {"due_date", "2024-1-5"}]), :create) end) ==
             "due_date"
  end

  test "wrong JSON types name the field" do
    assert field_of(fn -> Validation.parse_task_fields(object([{"title", {:number, "5"}}]), :create) end) == "title"

    assert field_of(fn -> Validation.parse_task_fields(object([{"title", "t"}, {"status", :null}]), :create) end) ==
             "status"
  end

  describe "query strings" do
    test "are split like URLSearchParams" do
      assert Validation.parse_query_string("a=1&&b&c=x+y%20z&d=%zz&=e") ==
               [{"a", "1"}, {"b", ""}, {"c", "x y z"}, {"d", "%zz"}, {"", "e"}]
    end

    test "filters validate and normalise their values" do
      assert Validation.parse_task_filter([{"status", "next"}, {"context", "@home"}]) ==
               %{"status" => "next", "context" => "@home"}
    end

    test "an unknown, repeated or empty parameter names itself" do
      assert field_of(fn -> Validation.parse_task_filter([{"colour", "red"}]) end) == "colour"
      assert field_of(fn -> Validation.parse_task_filter([{"status", "inbox"}, {"status", "next"}]) end) == "status"
      assert field_of(fn -> Validation.parse_project_filter([{"status", ""}]) end) == "status"
    end
  end
end
