"""Import documents without a database: the document's own checks, their order, the
reference checks given the store's ids, and the cycle search."""

import copy

import pytest

from gtd_pg.errors import ApiError
from gtd_pg.transfer import check_references, first_on_cycle, parse_document, referenced_ids, timestamp

P1 = "00000000-0000-4000-8000-0000000000a1"
T1 = "00000000-0000-4000-8000-000000000001"
T2 = "00000000-0000-4000-8000-000000000002"
T3 = "00000000-0000-4000-8000-000000000003"
STAMP = "2026-12-05T10:00:00.000Z"


def project(id=P1, **members):
    return {"id": id, "name": "P", "status": "active", "created_at": STAMP, "updated_at": STAMP, **members}


def task(id, **members):
    return {"id": id, "title": "t", "status": "inbox", "created_at": STAMP, "updated_at": STAMP, **members}


def document(projects=(), tasks=(), **top):
    return {"version": 2, "projects": list(projects), "tasks": list(tasks), **top}


def field_of(call) -> str | None:
    with pytest.raises(ApiError) as excinfo:
        call()
    assert excinfo.value.status == 422 and excinfo.value.code == "validation_error"
    return excinfo.value.field


def first_error(doc, stored_projects=(), stored_tasks=()) -> str | None:
    """The field named for the document as the route would check it."""

    def check():
        check_references(parse_document(doc), stored_projects, stored_tasks)

    return field_of(check)


def test_a_minimal_item_gets_its_defaults():
    parsed = parse_document(document([project()], [task(T1)]))
    assert parsed.error is None
    assert parsed.projects[0]["notes"] is None and parsed.projects[0]["reviewed_on"] is None
    assert parsed.tasks[0]["blocked_by"] == [] and parsed.tasks[0]["repeat"] is None


def test_ids_are_normalised_to_lowercase():
    parsed = parse_document(document([project(P1.upper())], [task(T1.upper(), blocked_by=[T2.upper()])]))
    assert parsed.projects[0]["id"] == P1
    assert parsed.tasks[0]["id"] == T1 and parsed.tasks[0]["blocked_by"] == [T2]


def test_a_repeat_rule_is_stored_in_canonical_form():
    parsed = parse_document(document(tasks=[task(T1, repeat={"rule": "BYDAY=FR,MO;FREQ=WEEKLY", "from": "due"})]))
    assert parsed.tasks[0]["repeat"] == {"rule": "FREQ=WEEKLY;BYDAY=MO,FR", "from": "due"}


def test_exported_at_is_optional_and_ignored():
    assert parse_document(document(exported_at=STAMP)).error is None


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"projects": [], "tasks": []}, "version"),
        (document(extra=1), "extra"),
        (document(version=3), "version"),
        (document(version=1), "version"),
        (document(version="2"), "version"),
        (document(version=2.5), "version"),
        ({"version": 2, "tasks": []}, "projects"),
        ({"version": 2, "projects": {}, "tasks": []}, "projects"),
        ({"version": 2, "projects": []}, "tasks"),
        ({"version": 2, "projects": [], "tasks": "x"}, "tasks"),
    ],
)
def test_the_top_level_names_the_member(doc, field):
    assert field_of(lambda: parse_document(doc)) == field


def test_a_newer_version_says_so():
    with pytest.raises(ApiError, match="newer"):
        parse_document(document(version=3))


def test_an_unknown_top_level_member_is_named_before_the_version():
    assert field_of(lambda: parse_document({"version": 9, "projects": [], "tasks": [], "x": 1})) == "x"


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ("x", "projects[0]"),
        (project(task_counts={}), "projects[0].task_counts"),
        ({k: v for k, v in project().items() if k != "name"}, "projects[0].name"),
        (project(name="  "), "projects[0].name"),
        (project(status="open"), "projects[0].status"),
        (project(reviewed_on="2026-02-30"), "projects[0].reviewed_on"),
        (project(created_at="2026-12-05T10:00:00Z"), "projects[0].created_at"),
        (project(updated_at="2026-12-05T24:00:00.000Z"), "projects[0].updated_at"),
        (project(id="nope"), "projects[0].id"),
    ],
)
def test_a_project_item_names_its_member(item, field):
    assert first_error(document([item])) == field


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (task(T1, blocked=False), "tasks[0].blocked"),
        (task(T1, status="doing"), "tasks[0].status"),
        (task(T1, blocked_by=None), "tasks[0].blocked_by"),
        (task(T1, blocked_by="x"), "tasks[0].blocked_by"),
        (task(T1, repeat={"rule": "FREQ=DAILY"}), "tasks[0].repeat"),
        (task(T1, completed_at="2026-13-01T00:00:00.000Z"), "tasks[0].completed_at"),
        (task(T1, context="home"), "tasks[0].context"),
        (task(T1, defer_until="tomorrow"), "tasks[0].defer_until"),
        ({k: v for k, v in task(T1).items() if k != "updated_at"}, "tasks[0].updated_at"),
    ],
)
def test_a_task_item_names_its_member(item, field):
    assert first_error(document(tasks=[item])) == field


def test_an_id_twice_in_an_array_is_named_at_the_second():
    assert first_error(document(tasks=[task(T1), task(T2), task(T1.upper())])) == "tasks[2].id"


def test_the_same_id_in_projects_and_tasks_is_not_a_duplicate():
    assert parse_document(document([project(T1)], [task(T1)])).error is None


def test_the_first_bad_project_is_named_before_a_bad_task():
    doc = document([project(), project(P1.replace("a1", "a2"), status="x")], [task(T1, status="x")])
    assert first_error(doc) == "projects[1].status"


def test_a_members_own_rule_comes_before_its_references():
    # project_id dangles, but the title (checked first, as on create) is wrong too.
    doc = document(tasks=[task(T1, title="", project_id=P1)])
    assert first_error(doc) == "tasks[0].title"


def test_a_dangling_reference_comes_before_a_later_bad_item():
    doc = document(tasks=[task(T1, project_id=P1), task(T2, status="x")])
    assert first_error(doc) == "tasks[0].project_id"


def test_a_later_bad_item_comes_after_good_references():
    doc = document(tasks=[task(T1, blocked_by=[T2]), task(T2, status="x")])
    assert first_error(doc) == "tasks[1].status"


def test_project_id_comes_before_blocked_by_in_one_task():
    doc = document(tasks=[task(T1, project_id=P1, blocked_by=[T1])])
    assert first_error(doc) == "tasks[0].project_id"


def test_references_may_name_the_store():
    doc = document(tasks=[task(T1, project_id=P1, blocked_by=[T3])])
    check_references(parse_document(doc), [P1], [T3])


def test_references_may_name_later_items_of_the_document():
    doc = document(tasks=[task(T1, blocked_by=[T2]), task(T2)])
    check_references(parse_document(doc), [], [])


@pytest.mark.parametrize(
    ("blockers", "reason"),
    [([T3], "missing"), ([T1], "itself"), ([T2, T2], "twice")],
)
def test_blocked_by_problems_name_the_task(blockers, reason):
    doc = document(tasks=[task(T1, blocked_by=blockers), task(T2)])
    assert first_error(doc) == "tasks[0].blocked_by", reason


def test_referenced_ids_are_what_the_store_is_asked_about():
    parsed = parse_document(document(tasks=[task(T1, project_id=P1, blocked_by=[T2, T3])]))
    assert referenced_ids(parsed) == ({P1}, {T2, T3})


def test_parsing_does_not_change_the_document():
    doc = document([project()], [task(T1.upper())])
    before = copy.deepcopy(doc)
    parse_document(doc)
    assert doc == before


@pytest.mark.parametrize("value", ["2024-02-29T23:59:59.999Z", "0001-01-01T00:00:00.000Z"])
def test_timestamps_in_the_served_form_pass(value):
    assert timestamp(value, "f") == value


@pytest.mark.parametrize(
    "value",
    [
        "2023-02-29T00:00:00.000Z",
        "2026-12-05T10:60:00.000Z",
        "2026-12-05 10:00:00.000Z",
        "2026-12-05T10:00:00.000+00:00",
    ],
)
def test_other_timestamps_fail(value):
    assert field_of(lambda: timestamp(value, "f")) == "f"


def test_an_acyclic_graph_has_no_cycle():
    assert first_on_cycle({"a": ["b"], "b": ["c"], "c": []}, [(0, "a"), (1, "b")]) is None


def test_a_cycle_is_named_at_its_first_candidate_in_document_order():
    edges = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}
    assert first_on_cycle(edges, [(0, "d"), (1, "c"), (2, "a")]) == 1


def test_a_task_blocked_by_a_cycle_is_not_on_it():
    assert first_on_cycle({"d": ["a"], "a": ["b"], "b": ["a"]}, [(0, "d")]) is None


def test_a_long_chain_does_not_hit_the_recursion_limit():
    n = 20_000
    edges = {str(i): [str(i + 1)] for i in range(n)}
    edges[str(n)] = ["0"]
    assert first_on_cycle(edges, [(7, "5000")]) == 7
