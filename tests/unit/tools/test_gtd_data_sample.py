"""``gtd_data.sample``: the made-up whole system the benchmarks and the browser scale test import."""

from __future__ import annotations

from gtd_data.sample import document


def test_the_same_seed_makes_the_same_document_and_another_seed_another() -> None:
    assert document(300) == document(300)
    assert document(300, seed=1)["tasks"][0]["id"] != document(300)["tasks"][0]["id"]


def test_a_document_has_the_tasks_asked_for_and_one_project_per_hundred_at_least_five() -> None:
    small, large = document(120), document(1000)
    assert (small["version"], len(small["tasks"]), len(small["projects"])) == (2, 120, 5)
    assert (len(large["tasks"]), len(large["projects"])) == (1000, 10)


def test_every_reference_points_at_a_project_or_an_earlier_task_of_the_document() -> None:
    doc = document(2000)
    projects = {project["id"] for project in doc["projects"]}
    seen: set[str] = set()
    for task in doc["tasks"]:
        assert task["project_id"] is None or task["project_id"] in projects
        assert set(task["blocked_by"]) <= seen, task["title"]
        seen.add(task["id"])
    assert any(task["blocked_by"] for task in doc["tasks"])
