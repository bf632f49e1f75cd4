"""GET /health on a working backend."""


def test_health_reports_ok_with_backend_id(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "backend": api.target.backend_id, "db": "ok"}


def test_health_is_json(api):
    response = api.get("/health")
    assert response.headers["content-type"].startswith("application/json")


def test_health_rejects_post_with_allow_header(api):
    response = api.post("/health", json={})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert _methods(response.headers["allow"]) == {"GET", "HEAD", "OPTIONS"}


def _methods(allow: str) -> set[str]:
    return {m.strip().upper() for m in allow.split(",")}
