"""Protocol-level errors: malformed bodies, unknown routes, wrong methods, HEAD and OPTIONS."""

import pytest

MISSING = "00000000-0000-4000-8000-000000000000"
JSON = {"content-type": "application/json"}


def _methods(allow: str) -> set[str]:
    return {m.strip().upper() for m in allow.split(",")}


@pytest.mark.parametrize("body", ['{"title": "x",', "{title: 'x'}", "not json", "{", '{"a":1}}'])
@pytest.mark.parametrize("path", ["/tasks", "/projects"])
def test_malformed_json_is_400(api, path, body):
    response = api.post(path, content=body, headers=JSON)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("body", ["", "   "])
def test_empty_body_is_400(api, body):
    response = api.post("/tasks", content=body, headers=JSON)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_invalid_utf8_body_is_400(api):
    response = api.post("/tasks", content=b'{"title": "\xff\xfe"}', headers=JSON)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_malformed_json_on_patch_is_400(api):
    task = api.create_task()
    response = api.patch(f"/tasks/{task['id']}", content="{", headers=JSON)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_body_without_content_type_is_read_as_json(api):
    response = api.post("/tasks", content=b'{"title": "no content type"}')
    assert "content-type" not in response.request.headers
    assert response.status_code == 201
    assert response.json()["title"] == "no content type"


def test_json_with_charset_parameter_is_accepted(api):
    headers = {"content-type": "application/json; charset=utf-8"}
    assert api.post("/tasks", content=b'{"title": "t"}', headers=headers).status_code == 201


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_non_json_content_type_is_415(api, content_type):
    response = api.post("/tasks", content=b'{"title": "t"}', headers={"content-type": content_type})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_body_over_one_mebibyte_is_413(api):
    body = '{"title": "t", "notes": "' + "x" * (1024 * 1024) + '"}'
    response = api.post("/tasks", content=body, headers=JSON)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("path", ["/", "/nope", "/tasks/", "/tasks/a/b", "/project", "/api/tasks"])
def test_unknown_route_is_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/tasks", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("DELETE", "/tasks", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("PATCH", "/projects", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("POST", f"/tasks/{MISSING}", {"GET", "HEAD", "PATCH", "DELETE", "OPTIONS"}),
        ("PUT", f"/projects/{MISSING}", {"GET", "HEAD", "PATCH", "DELETE", "OPTIONS"}),
        ("DELETE", "/health", {"GET", "HEAD", "OPTIONS"}),
    ],
)
def test_wrong_method_is_405_with_allow(api, method, path, allowed):
    response = api.request(method, path, json={"title": "t"})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert _methods(response.headers["allow"]) == allowed


def test_head_matches_get_without_body(api):
    task = api.create_task()
    response = api.head(f"/tasks/{task['id']}")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"].startswith("application/json")
    assert api.head(f"/tasks/{MISSING}").status_code == 404


def test_options_lists_allowed_methods(api):
    response = api.options("/tasks")
    assert response.status_code == 204
    assert _methods(response.headers["allow"]) == {"GET", "HEAD", "POST", "OPTIONS"}


def test_errors_never_leak_internals(api):
    response = api.post("/tasks", content='{"title": ', headers=JSON)
    text = response.text.lower()
    for leak in ("stack", "sqlite", "traceback", " at "):
        assert leak not in text
