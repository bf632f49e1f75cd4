"""Input rules: the contract's decisions with JavaScript's text semantics."""

import pytest

from gtd_pg.errors import ApiError
from gtd_pg.http import JSON_TYPE_RE, query_pairs
from gtd_pg.paging import Position, encode_cursor
from gtd_pg.validation import (
    PROJECT,
    PROJECT_FILTERS,
    TASK,
    TASK_FILTERS,
    TODAY_ONLY,
    is_uuid,
    js_key_order,
    js_trim,
    parse_query,
)


def field_of(excinfo) -> str | None:
    err = excinfo.value
    assert isinstance(err, ApiError) and err.status == 422 and err.code == "validation_error"
    return err.field


def test_create_applies_rules_and_normalises_project_id():
    fields = TASK.parse({"title": "t", "project_id": "ABCDEF00-0000-4000-8000-000000000000"}, "create")
    assert fields == {"title": "t", "project_id": "abcdef00-0000-4000-8000-000000000000"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "\u3000\ufeff"}, "title"),  # JavaScript whitespace
        ({"title": "🙂" * 501}, "title"),
        ({"title": True}, "title"),
        ({"title": "t", "notes": 1}, "notes"),
        ({"title": "t", "status": None}, "status"),
        ({"title": "t", "context": "@two words"}, "context"),
        ({"title": "t", "context": "@a\u00a0b"}, "context"),
        ({"title": "t", "context": "@x\n"}, "context"),
        ({"title": "t", "due_date": "2023-02-29"}, "due_date"),
        ({"title": "t", "due_date": "２０２４-01-01"}, "due_date"),  # non-ASCII digits
        ({"title": "t", "due_date": "2024-01-01\n"}, "due_date"),
        ({"title": "t", "project_id": "0000000-0000-4000-8000-000000000000"}, "project_id"),
        ({"title": "bad \ud800 half"}, "title"),
        ({"title": "t", "priority": 1}, "priority"),
        ({"title": "t", "id": "x"}, "id"),
    ],
)
def test_create_rejections_name_the_field(body, field):
    with pytest.raises(ApiError) as excinfo:
        TASK.parse(body, "create")
    assert field_of(excinfo) == field


@pytest.mark.parametrize("title", ["\x1f", "\x85", "a\x00b", "🙂" * 500])
def test_python_only_whitespace_and_control_characters_are_text(title):
    assert TASK.parse({"title": title}, "create")["title"] == title


def test_context_counts_code_points():
    assert TASK.parse({"title": "t", "context": "@" + "🙂" * 49}, "create")["context"] == "@" + "🙂" * 49
    with pytest.raises(ApiError):
        TASK.parse({"title": "t", "context": "@" + "🙂" * 50}, "create")


@pytest.mark.parametrize("date", ["2024-02-29", "2000-02-29", "0000-02-29", "1999-12-31"])
def test_real_dates(date):
    assert TASK.parse({"title": "t", "due_date": date}, "create")["due_date"] == date


def test_non_object_and_empty_update_have_no_field():
    for body in ([], "x", None, 1):
        with pytest.raises(ApiError) as excinfo:
            TASK.parse(body, "create")
        assert field_of(excinfo) is None
    with pytest.raises(ApiError) as excinfo:
        PROJECT.parse({}, "update")
    assert field_of(excinfo) is None


def test_unknown_field_wins_over_invalid_known_one():
    with pytest.raises(ApiError) as excinfo:
        TASK.parse({"title": 5, "zzz": 1}, "create")
    assert field_of(excinfo) == "zzz"


def test_unknown_keys_are_reported_in_javascript_order():
    assert js_key_order({"b": 1, "10": 2, "a": 3, "2": 4}) == ["2", "10", "b", "a"]
    assert js_key_order({"01": 1, "-1": 2}) == ["01", "-1"]
    with pytest.raises(ApiError) as excinfo:
        TASK.parse({"title": "t", "zz": 1, "7": 2}, "create")
    assert field_of(excinfo) == "7"


def test_update_allows_nulls_for_nullable_fields_only():
    assert TASK.parse({"notes": None, "context": None}, "update") == {"notes": None, "context": None}
    with pytest.raises(ApiError) as excinfo:
        TASK.parse({"title": None}, "update")
    assert field_of(excinfo) == "title"


def test_js_trim_and_uuid():
    assert js_trim("\ufeff x \u2028") == "x"
    assert js_trim("\x1c") == "\x1c"
    assert is_uuid("00000000-0000-4000-8000-00000000000A")
    assert not is_uuid("00000000-0000-4000-8000-00000000000A\n")


@pytest.mark.parametrize(
    ("raw", "pairs"),
    [
        (b"", []),
        (b"a=1&&b", [("a", "1"), ("b", "")]),
        (b"context=%40with%20space", [("context", "@with space")]),
        (b"q=a+b&q=%ZZ", [("q", "a b"), ("q", "%ZZ")]),
        (b"x=%FF", [("x", "\ufffd")]),
        (b"k=a=b", [("k", "a=b")]),
    ],
)
def test_query_pairs_follow_urlsearchparams(raw, pairs):
    assert query_pairs(raw) == pairs


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (b"status=", "status"),
        (b"status=inbox&status=next", "status"),
        (b"colour=red", "colour"),
        (b"context=home", "context"),
    ],
)
def test_query_rejections_name_the_parameter(query, field):
    with pytest.raises(ApiError) as excinfo:
        parse_query(query_pairs(query), TASK_FILTERS)
    assert field_of(excinfo) == field


def test_query_normalises_project_id():
    filter = parse_query(query_pairs(b"project_id=ABCDEF00-0000-4000-8000-000000000000"), TASK_FILTERS)
    assert filter == {"project_id": "abcdef00-0000-4000-8000-000000000000"}


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/merge-patch+json", True),
        ("application/json ;x=y", True),
        ("text/plain", False),
        ("application/jsonx", False),
        ("application/x-www-form-urlencoded", False),
        ("", False),
    ],
)
def test_json_content_types(value, ok):
    assert bool(JSON_TYPE_RE.match(value)) is ok


# -- contract v2 -------------------------------------------------------------------------

ID = "abcdef00-0000-4000-8000-000000000000"


def test_v2_task_members_are_validated_and_normalised():
    fields = TASK.parse(
        {
            "title": "t",
            "defer_until": "2026-12-10",
            "repeat": {"from": "completion", "rule": "BYDAY=FR,MO;FREQ=WEEKLY"},
            "blocked_by": [ID.upper()],
        },
        "create",
    )
    assert fields["defer_until"] == "2026-12-10"
    assert fields["repeat"] == {"rule": "FREQ=WEEKLY;BYDAY=MO,FR", "from": "completion"}
    assert fields["blocked_by"] == [ID]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"defer_until": "2026-02-30"}, "defer_until"),
        ({"repeat": "FREQ=DAILY"}, "repeat"),
        ({"repeat": {"rule": "FREQ=DAILY"}}, "repeat"),
        ({"repeat": {"rule": "FREQ=DAILY", "from": "due", "x": 1}}, "repeat"),
        ({"repeat": {"rule": "FREQ=DAILY", "from": "start"}}, "repeat"),
        ({"repeat": {"rule": "FREQ=DAILY;COUNT=2", "from": "due"}}, "repeat"),
        ({"repeat": {"rule": 1, "from": "due"}}, "repeat"),
        ({"blocked_by": None}, "blocked_by"),
        ({"blocked_by": ID}, "blocked_by"),
        ({"blocked_by": [1]}, "blocked_by"),
        ({"blocked_by": ["not-a-uuid"]}, "blocked_by"),
        ({"blocked_by": [ID] * 101}, "blocked_by"),
        ({"blocked": True}, "blocked"),
        ({"completed_at": None}, "completed_at"),
    ],
)
def test_v2_task_rejections_name_the_field(body, field):
    with pytest.raises(ApiError) as excinfo:
        TASK.parse({"title": "t", **body}, "create")
    assert field_of(excinfo) == field


def test_null_clears_defer_until_and_repeat_and_an_empty_list_clears_blocked_by():
    fields = TASK.parse({"defer_until": None, "repeat": None, "blocked_by": []}, "update")
    assert fields == {"defer_until": None, "repeat": None, "blocked_by": []}


def test_duplicate_blockers_pass_the_field_rule_for_the_store_to_name():
    # Existence, self and duplicates come after project_id existence (the Store's checks).
    assert TASK.parse({"blocked_by": [ID, ID]}, "update") == {"blocked_by": [ID, ID]}


@pytest.mark.parametrize(
    ("body", "field"), [({"reviewed_on": "yesterday"}, "reviewed_on"), ({"task_counts": {}}, "task_counts")]
)
def test_v2_project_rejections_name_the_field(body, field):
    with pytest.raises(ApiError) as excinfo:
        PROJECT.parse({"name": "p", **body}, "create")
    assert field_of(excinfo) == field


def test_v2_list_parameters_are_parsed():
    cursor = encode_cursor(Position("2026-12-05T10:00:00.000Z", 3))
    query = f"deferred=true&blocked=false&available=true&q=a%25b&today=2026-12-05&limit=500&cursor={cursor}"
    filter = parse_query(query_pairs(query.encode()), TASK_FILTERS)
    assert filter == {
        "deferred": True,
        "blocked": False,
        "available": True,
        "q": "a%b",
        "today": "2026-12-05",
        "limit": 500,
        "cursor": Position("2026-12-05T10:00:00.000Z", 3),
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (b"deferred=yes", "deferred"),
        (b"blocked=", "blocked"),
        (b"available=TRUE", "available"),
        (b"q=", "q"),
        (b"q=" + b"x" * 201, "q"),
        (b"limit=0", "limit"),
        (b"limit=501", "limit"),
        (b"limit=010", "limit"),
        (b"limit=%2B5", "limit"),
        (b"cursor=abc", "cursor"),
        (b"today=2026-02-30", "today"),
        (b"limit=5&limit=5", "limit"),
    ],
)
def test_v2_list_rejections_name_the_parameter(query, field):
    with pytest.raises(ApiError) as excinfo:
        parse_query(query_pairs(query), TASK_FILTERS)
    assert field_of(excinfo) == field


def test_q_counts_code_points():
    assert parse_query(query_pairs(("q=" + "🙂" * 200).encode()), TASK_FILTERS)["q"] == "🙂" * 200


def test_projects_accept_paging_and_today():
    assert parse_query(query_pairs(b"today=2026-12-05&limit=1"), PROJECT_FILTERS) == {"today": "2026-12-05", "limit": 1}


def test_single_resource_routes_ignore_other_parameters():
    assert parse_query(query_pairs(b"x=1&today=2026-12-05"), TODAY_ONLY, strict=False) == {"today": "2026-12-05"}


def test_single_resource_routes_check_today():
    with pytest.raises(ApiError) as excinfo:
        parse_query(query_pairs(b"x=1&today=5"), TODAY_ONLY, strict=False)
    assert field_of(excinfo) == "today"
