"""Idempotency-Key on the POSTs that create (backends/contract/openapi.yaml, "Idempotency-Key").

Expiry after 24 h is not tested here (it needs a clock): each backend's own unit
tests age a key instead.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest


def _key() -> str:
    return f"key-{uuid.uuid4()}"


def _tasks_in(api, context: str) -> list[dict]:
    response = api.get("/tasks", params={"context": context})
    assert response.status_code == 200
    return response.json()["tasks"]


def _projects_named(api, name: str) -> list[dict]:
    response = api.get("/projects")
    assert response.status_code == 200
    return [p for p in response.json()["projects"] if p["name"] == name]


def _error_code(response) -> str:
    error = response.json()["error"]
    assert "field" not in error, error
    return error["code"]


def test_retry_with_the_same_key_and_body_creates_one_task(api, unique_context):
    key = _key()
    first = api.post("/tasks", json={"title": "pay rent", "context": unique_context}, headers={"idempotency-key": key})
    second = api.post("/tasks", json={"title": "pay rent", "context": unique_context}, headers={"idempotency-key": key})
    assert first.status_code == 201
    assert [t["id"] for t in _tasks_in(api, unique_context)] == [first.json()["id"]]
    assert second.status_code == 201


def test_replay_answers_the_first_body_with_the_replayed_header(api, unique_context):
    key = _key()
    body = {"title": "call mum", "context": unique_context}
    first = api.post("/tasks", json=body, headers={"idempotency-key": key})
    second = api.post("/tasks", json=body, headers={"idempotency-key": key})
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["content-type"].startswith("application/json")


def test_first_answer_is_not_marked_as_a_replay(api, unique_context):
    response = api.post("/tasks", json={"title": "t", "context": unique_context}, headers={"idempotency-key": _key()})
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers


def test_replay_keeps_the_location_of_the_first_answer(api, unique_context):
    key = _key()
    body = {"title": "located", "context": unique_context}
    first = api.post("/tasks", json=body, headers={"idempotency-key": key})
    second = api.post("/tasks", json=body, headers={"idempotency-key": key})
    assert second.headers["location"] == first.headers["location"] == f"/tasks/{first.json()['id']}"


def test_same_key_with_a_different_body_is_422_and_creates_nothing(api, unique_context):
    key = _key()
    api.post("/tasks", json={"title": "first", "context": unique_context}, headers={"idempotency-key": key})
    response = api.post("/tasks", json={"title": "second", "context": unique_context}, headers={"idempotency-key": key})
    assert response.status_code == 422
    assert _error_code(response) == "idempotency_key_reused"
    assert [t["title"] for t in _tasks_in(api, unique_context)] == ["first"]


def test_same_key_on_projects_and_tasks_is_422(api):
    key = _key()
    name = f"p-{uuid.uuid4().hex[:8]}"
    assert api.post("/projects", json={"name": name}, headers={"idempotency-key": key}).status_code == 201
    response = api.post("/tasks", json={"name": name}, headers={"idempotency-key": key})
    assert response.status_code == 422
    assert _error_code(response) == "idempotency_key_reused"


def test_replayed_project_is_the_one_created(api):
    key = _key()
    name = f"p-{uuid.uuid4().hex[:8]}"
    first = api.post("/projects", json={"name": name}, headers={"idempotency-key": key})
    second = api.post("/projects", json={"name": name}, headers={"idempotency-key": key})
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert [p["id"] for p in _projects_named(api, name)] == [first.json()["id"]]


BAD_KEYS = {
    "empty": [(b"idempotency-key", b"")],
    "256-chars": [(b"idempotency-key", b"k" * 256)],
    "space": [(b"idempotency-key", b"two words")],
    "non-ascii": [(b"idempotency-key", "clé".encode())],
    "control-char": [(b"idempotency-key", b"a\tb")],
    "empty-quoted": [(b"idempotency-key", b'""')],
    "repeated": [(b"idempotency-key", b"one"), (b"idempotency-key", b"two")],
}


@pytest.mark.parametrize("headers", BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_malformed_key_is_400_and_creates_nothing(api, unique_context, headers):
    response = api.post("/tasks", json={"title": "nope", "context": unique_context}, headers=headers)
    assert response.status_code == 400
    assert _error_code(response) == "invalid_idempotency_key"
    assert _tasks_in(api, unique_context) == []


def test_key_of_255_characters_is_accepted(api, unique_context):
    key = uuid.uuid4().hex.ljust(255, "k")
    response = api.post("/tasks", json={"title": "t", "context": unique_context}, headers={"idempotency-key": key})
    assert response.status_code == 201
    assert len(_tasks_in(api, unique_context)) == 1


def test_key_is_checked_before_the_body(api):
    response = api.post("/tasks", content=b"{not json", headers={"idempotency-key": "two words"})
    assert response.status_code == 400
    assert _error_code(response) == "invalid_idempotency_key"


def test_route_and_method_are_checked_before_the_key(api):
    response = api.post("/health", json={}, headers={"idempotency-key": "two words"})
    assert response.status_code == 405


def test_other_methods_ignore_the_key(api):
    task = api.create_task()
    response = api.patch(f"/tasks/{task['id']}", json={"status": "next"}, headers={"idempotency-key": "two words"})
    assert response.status_code == 200


def test_quoted_key_is_the_bare_key(api, unique_context):
    key = _key()
    body = {"title": "quoted", "context": unique_context}
    first = api.post("/tasks", json=body, headers={"idempotency-key": f'"{key}"'})
    second = api.post("/tasks", json=body, headers={"idempotency-key": key})
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert len(_tasks_in(api, unique_context)) == 1


def test_failed_first_attempt_stores_nothing(api, unique_context):
    key = _key()
    failed = api.post("/tasks", json={"title": "", "context": unique_context}, headers={"idempotency-key": key})
    assert failed.status_code == 422
    retry = api.post("/tasks", json={"title": "fixed", "context": unique_context}, headers={"idempotency-key": key})
    assert retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers
    assert [t["title"] for t in _tasks_in(api, unique_context)] == ["fixed"]


def test_without_a_key_two_posts_create_two(api, unique_context):
    for _ in range(2):
        assert api.post("/tasks", json={"title": "same", "context": unique_context}).status_code == 201
    assert len(_tasks_in(api, unique_context)) == 2


def test_concurrent_posts_with_one_key_create_exactly_one(api, unique_context):
    key = _key()
    body = {"title": "raced", "context": unique_context}
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(lambda _: api.post("/tasks", json=body, headers={"idempotency-key": key}), range(10)))
    assert [r.status_code for r in responses] == [201] * 10
    assert len(_tasks_in(api, unique_context)) == 1
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
