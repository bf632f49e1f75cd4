"""Recurring tasks (v2-spec §5): the rule subset, its canonical form, next(), and completing.

Completion dates are made deterministic with ``today=`` on the PATCH.
"""

import pytest

TODAY = "2026-12-10"


def _repeat(rule: str, from_: str = "due") -> dict:
    return {"rule": rule, "from": from_}


def _complete(api, task: dict, body: dict | None = None, today: str = TODAY):
    """PATCH the task to done; answers the response."""
    response = api.patch(f"/tasks/{task['id']}", params={"today": today}, json={"status": "done", **(body or {})})
    assert response.status_code == 200, response.text
    return response


def _occurrence(api, response) -> dict:
    new_id = response.headers.get("next-occurrence-id")
    assert new_id, "no Next-Occurrence-Id header"
    got = api.get(f"/tasks/{new_id}")
    assert got.status_code == 200, got.text
    return got.json()


def _tasks_in(api, context: str) -> list[dict]:
    response = api.get("/tasks", params={"context": context})
    assert response.status_code == 200
    return response.json()["tasks"]


# -- the rule -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "canonical"),
    [
        ("FREQ=DAILY", "FREQ=DAILY"),
        ("FREQ=DAILY;INTERVAL=1", "FREQ=DAILY"),
        ("INTERVAL=365;FREQ=DAILY", "FREQ=DAILY;INTERVAL=365"),
        ("BYDAY=WE,MO;INTERVAL=1;FREQ=WEEKLY", "FREQ=WEEKLY;BYDAY=MO,WE"),
        ("FREQ=WEEKLY;BYDAY=SU,SA,FR,TH,WE,TU,MO", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU"),
        ("BYDAY=FR;FREQ=WEEKLY;INTERVAL=2", "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR"),
        ("FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=MONTHLY;BYMONTHDAY=31"),
        ("BYMONTHDAY=1;INTERVAL=3;FREQ=MONTHLY", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"),
        ("FREQ=YEARLY;INTERVAL=2", "FREQ=YEARLY;INTERVAL=2"),
    ],
)
def test_valid_rule_is_served_in_canonical_form(api, rule, canonical):
    task = api.create_task(repeat=_repeat(rule, "completion"))
    assert task["repeat"] == {"rule": canonical, "from": "completion"}
    assert api.get(f"/tasks/{task['id']}").json()["repeat"] == task["repeat"]


@pytest.mark.parametrize(
    "rule",
    [
        "",
        "INTERVAL=2",
        "FREQ=HOURLY",
        "FREQ=daily",
        "freq=DAILY",
        "RRULE:FREQ=DAILY",
        "FREQ=DAILY;",
        ";FREQ=DAILY",
        "FREQ=DAILY;;INTERVAL=2",
        "FREQ=DAILY;FREQ=DAILY",
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=DAILY;INTERVAL=366",
        "FREQ=DAILY;INTERVAL=02",
        "FREQ=DAILY;INTERVAL=+2",
        "FREQ=DAILY;INTERVAL=",
        "FREQ=DAILY;COUNT=3",
        "FREQ=DAILY;UNTIL=20301231",
        "FREQ=WEEKLY;WKST=MO",
        "FREQ=MONTHLY;BYSETPOS=1",
        "FREQ=DAILY;BYDAY=MO",
        "FREQ=MONTHLY;BYDAY=MO",
        "FREQ=WEEKLY;BYDAY=",
        "FREQ=WEEKLY;BYDAY=MO,MO",
        "FREQ=WEEKLY;BYDAY=1MO",
        "FREQ=WEEKLY;BYDAY=mo",
        "FREQ=WEEKLY;BYDAY=MO,",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=WEEKLY;BYMONTHDAY=3",
        "FREQ=MONTHLY;BYMONTHDAY=0",
        "FREQ=MONTHLY;BYMONTHDAY=32",
        "FREQ=MONTHLY;BYMONTHDAY=1,15",
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        "FREQ=YEARLY;BYMONTHDAY=3",
        "FREQ= DAILY",
        "FREQ=DAILY;INTERVAL=2;" + "X" * 90,
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;INTERVAL=2;" + "BYDAY=MO;" * 7,
    ],
)
def test_invalid_rule_is_422(api, rule):
    response = api.post("/tasks", json={"title": "t", "repeat": _repeat(rule)})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "repeat"


def test_rule_over_100_characters_is_422(api):
    rule = "FREQ=WEEKLY;BYDAY=MO" + " " * 81
    response = api.post("/tasks", json={"title": "t", "repeat": _repeat(rule)})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "repeat"


def test_patch_sets_and_null_clears_repeat(api):
    task = api.create_task()
    set_ = api.patch(f"/tasks/{task['id']}", json={"repeat": _repeat("FREQ=DAILY")})
    assert set_.json()["repeat"] == {"rule": "FREQ=DAILY", "from": "due"}
    assert api.patch(f"/tasks/{task['id']}", json={"repeat": None}).json()["repeat"] is None


# -- next(anchor) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "anchor", "expected"),
    [
        ("FREQ=DAILY", "2026-12-02", "2026-12-03"),
        ("FREQ=DAILY", "2026-12-31", "2027-01-01"),
        ("FREQ=DAILY;INTERVAL=3", "2026-12-02", "2026-12-05"),
        ("FREQ=WEEKLY", "2026-12-02", "2026-12-09"),
        ("FREQ=WEEKLY;INTERVAL=2", "2026-12-02", "2026-12-16"),
        ("FREQ=WEEKLY;BYDAY=MO,FR", "2026-12-02", "2026-12-04"),
        ("FREQ=WEEKLY;BYDAY=MO,FR", "2026-12-04", "2026-12-07"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR", "2026-12-04", "2026-12-14"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR", "2026-12-02", "2026-12-04"),
        ("FREQ=WEEKLY;BYDAY=SU", "2026-12-06", "2026-12-13"),
        ("FREQ=WEEKLY;BYDAY=MO,WE,FR", "2026-12-06", "2026-12-07"),
        ("FREQ=WEEKLY;BYDAY=WE", "2026-12-02", "2026-12-09"),
        ("FREQ=MONTHLY", "2026-01-31", "2026-02-28"),
        ("FREQ=MONTHLY", "2028-01-31", "2028-02-29"),
        ("FREQ=MONTHLY", "2026-12-15", "2027-01-15"),
        ("FREQ=MONTHLY;INTERVAL=3", "2026-11-30", "2027-02-28"),
        ("FREQ=MONTHLY;BYMONTHDAY=20", "2026-01-05", "2026-01-20"),
        ("FREQ=MONTHLY;BYMONTHDAY=20", "2026-01-25", "2026-02-20"),
        ("FREQ=MONTHLY;BYMONTHDAY=20", "2026-01-20", "2026-02-20"),
        ("FREQ=MONTHLY;BYMONTHDAY=31", "2026-04-10", "2026-04-30"),
        ("FREQ=MONTHLY;BYMONTHDAY=31", "2026-04-30", "2026-05-31"),
        ("FREQ=MONTHLY;BYMONTHDAY=31", "2026-01-31", "2026-02-28"),
        ("FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=5", "2026-01-10", "2026-03-05"),
        ("FREQ=YEARLY", "2026-03-15", "2027-03-15"),
        ("FREQ=YEARLY", "2028-02-29", "2029-02-28"),
        ("FREQ=YEARLY;INTERVAL=4", "2028-02-29", "2032-02-29"),
    ],
)
def test_next_due_date_follows_the_rule(api, rule, anchor, expected):
    task = api.create_task(status="next", due_date=anchor, repeat=_repeat(rule))
    occurrence = _occurrence(api, _complete(api, task))
    assert occurrence["due_date"] == expected


# -- anchors ----------------------------------------------------------------------


def test_from_completion_anchors_on_today(api):
    task = api.create_task(status="next", due_date="2026-12-01", repeat=_repeat("FREQ=DAILY", "completion"))
    occurrence = _occurrence(api, _complete(api, task, today="2026-12-10"))
    assert occurrence["due_date"] == "2026-12-11"


def test_from_due_without_due_date_anchors_on_defer_until(api):
    task = api.create_task(status="next", defer_until="2026-12-01", repeat=_repeat("FREQ=WEEKLY"))
    occurrence = _occurrence(api, _complete(api, task))
    assert (occurrence["due_date"], occurrence["defer_until"]) == (None, "2026-12-08")


def test_from_due_without_any_date_anchors_on_today(api):
    task = api.create_task(status="next", repeat=_repeat("FREQ=DAILY;INTERVAL=2"))
    occurrence = _occurrence(api, _complete(api, task, today="2026-12-10"))
    assert (occurrence["due_date"], occurrence["defer_until"]) == (None, "2026-12-12")


def test_from_completion_without_due_date_sets_defer_until(api):
    task = api.create_task(status="next", defer_until="2026-01-01", repeat=_repeat("FREQ=MONTHLY", "completion"))
    occurrence = _occurrence(api, _complete(api, task, today="2026-12-10"))
    assert (occurrence["due_date"], occurrence["defer_until"]) == (None, "2027-01-10")


def test_the_patch_own_due_date_is_the_anchor(api):
    task = api.create_task(status="next", due_date="2026-01-01", repeat=_repeat("FREQ=DAILY"))
    occurrence = _occurrence(api, _complete(api, task, {"due_date": "2026-06-01"}))
    assert occurrence["due_date"] == "2026-06-02"


def test_lead_time_is_kept(api):
    task = api.create_task(
        status="next", due_date="2026-12-10", defer_until="2026-12-07", repeat=_repeat("FREQ=MONTHLY")
    )
    occurrence = _occurrence(api, _complete(api, task))
    assert (occurrence["due_date"], occurrence["defer_until"]) == ("2027-01-10", "2027-01-07")


def test_due_date_without_defer_until_gives_no_defer_until(api):
    task = api.create_task(status="next", due_date="2026-12-10", repeat=_repeat("FREQ=DAILY"))
    occurrence = _occurrence(api, _complete(api, task))
    assert (occurrence["due_date"], occurrence["defer_until"]) == ("2026-12-11", None)


# -- the occurrence -----------------------------------------------------------------


def test_occurrence_copies_the_task(api, unique_context):
    project = api.create_project()
    task = api.create_task(
        title="water the plants 🌱",
        notes="the big ones too",
        status="next",
        project_id=project["id"],
        context=unique_context,
        due_date="2026-12-02",
        repeat=_repeat("BYDAY=FR,MO;FREQ=WEEKLY"),
    )
    response = _complete(api, task)
    occurrence = _occurrence(api, response)
    assert occurrence["id"] != task["id"]
    for key in ("title", "notes", "project_id", "context", "repeat", "status"):
        assert occurrence[key] == task[key], key
    assert occurrence["completed_at"] is None
    assert occurrence["created_at"] == occurrence["updated_at"]
    assert occurrence["created_at"] >= task["created_at"]


def test_occurrence_has_the_status_from_before_the_patch(api):
    task = api.create_task(status="waiting", due_date="2026-12-02", repeat=_repeat("FREQ=DAILY"))
    assert _occurrence(api, _complete(api, task))["status"] == "waiting"


def test_occurrence_has_no_dependencies(api):
    blocker = api.create_task(status="done")
    task = api.create_task(status="next", blocked_by=[blocker["id"]], repeat=_repeat("FREQ=DAILY"))
    occurrence = _occurrence(api, _complete(api, task))
    assert (occurrence["blocked_by"], occurrence["blocked"]) == ([], False)


def test_completing_answers_the_completed_task(api):
    task = api.create_task(status="next", due_date="2026-12-02", repeat=_repeat("FREQ=DAILY"))
    done = _complete(api, task).json()
    assert done["id"] == task["id"]
    assert done["status"] == "done"
    assert done["repeat"] == task["repeat"]
    assert done["due_date"] == "2026-12-02"
    assert done["completed_at"] == done["updated_at"]


def test_completing_creates_exactly_one_occurrence(api, unique_context):
    task = api.create_task(context=unique_context, status="next", repeat=_repeat("FREQ=DAILY"))
    occurrence = _occurrence(api, _complete(api, task))
    assert [t["id"] for t in _tasks_in(api, unique_context)] == [occurrence["id"], task["id"]]


def test_patching_a_done_task_to_done_again_creates_nothing(api, unique_context):
    task = api.create_task(context=unique_context, status="next", repeat=_repeat("FREQ=DAILY"))
    _complete(api, task)
    again = _complete(api, task)
    assert "next-occurrence-id" not in again.headers
    assert len(_tasks_in(api, unique_context)) == 2


def test_creating_a_done_repeating_task_creates_nothing(api, unique_context):
    api.create_task(context=unique_context, status="done", repeat=_repeat("FREQ=DAILY"))
    assert len(_tasks_in(api, unique_context)) == 1


def test_other_patches_of_a_repeating_task_create_nothing(api, unique_context):
    task = api.create_task(context=unique_context, status="next", repeat=_repeat("FREQ=DAILY"))
    response = api.patch(f"/tasks/{task['id']}", json={"status": "waiting", "title": "renamed"})
    assert response.status_code == 200
    assert "next-occurrence-id" not in response.headers
    assert len(_tasks_in(api, unique_context)) == 1


def test_completing_a_task_without_repeat_creates_nothing(api, unique_context):
    task = api.create_task(context=unique_context, status="next", due_date="2026-12-02")
    assert "next-occurrence-id" not in _complete(api, task).headers
    assert len(_tasks_in(api, unique_context)) == 1


def test_refused_completing_patch_creates_nothing(api, unique_context):
    task = api.create_task(context=unique_context, status="next", repeat=_repeat("FREQ=DAILY"))
    response = api.patch(f"/tasks/{task['id']}", json={"status": "done", "due_date": "2026-02-30"})
    assert response.status_code == 422
    assert "next-occurrence-id" not in response.headers
    assert _tasks_in(api, unique_context) == [task]


def test_reopening_keeps_the_occurrence(api, unique_context):
    task = api.create_task(context=unique_context, status="next", repeat=_repeat("FREQ=DAILY"))
    occurrence = _occurrence(api, _complete(api, task))
    reopened = api.patch(f"/tasks/{task['id']}", json={"status": "next"})
    assert reopened.status_code == 200
    assert reopened.json()["repeat"] == task["repeat"]
    assert api.get(f"/tasks/{occurrence['id']}").json() == occurrence


def test_reopen_then_complete_again_creates_another_occurrence(api, unique_context):
    task = api.create_task(context=unique_context, status="next", repeat=_repeat("FREQ=DAILY"))
    first = _occurrence(api, _complete(api, task))
    api.patch(f"/tasks/{task['id']}", json={"status": "next"})
    second = _occurrence(api, _complete(api, task))
    assert second["id"] != first["id"]
    assert len(_tasks_in(api, unique_context)) == 3
