"""Hostile input: every request of corpus.yaml, byte for byte, over a raw socket.

One twin serves the whole corpus; a recording backend ("app") is the only
registered backend and a second server ("victim") is registered nowhere.
Each case checks the answer (status, JSON error and its code, connection
closed when the parser refused the request), what the backend saw (nothing, a
whole request, or at most a head whose body never completed), that no answer
is a 5xx or names a backend's address, and that the victim has never been
contacted (so far: checked after every case, whatever ran before it).
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml

from tests.hardening.support import API_KEY, FaultServer, raw_exchange
from tests.support.processes import running_twin

CORPUS = yaml.safe_load((Path(__file__).with_name("corpus.yaml")).read_text())
_PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)(?::(\d+):(.))?\}")


def test_corpus_has_at_least_200_cases_with_unique_names():
    names = [case["name"] for case in CORPUS]
    assert len(names) >= 200
    assert len(set(names)) == len(names)


def test_every_error_case_pins_its_code():
    unpinned = [case["name"] for case in CORPUS if case["status"] >= 400 and "code" not in case]
    assert unpinned == []


class Setup:
    def __init__(self, app, victim, twin) -> None:
        self.app, self.victim, self.twin = app, victim, twin
        self.port = int(twin.url.rsplit(":", 1)[1])

    def expand(self, text: str) -> str:
        values = {
            "AUTH": f"Authorization: Bearer {API_KEY}\r\n",
            "AUTH_LF": f"Authorization: Bearer {API_KEY}\n",
            "KEY": API_KEY,
            "KEYPREFIX": API_KEY[: len(API_KEY) // 2],
            "KEYUPPER": API_KEY.upper(),
            "VICTIM": f"127.0.0.1:{self.victim.port}",
        }

        def one(match: re.Match[str]) -> str:
            if match[1] == "REPEAT":
                return match[3] * int(match[2])
            return values[match[1]]

        return _PLACEHOLDER.sub(one, text)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, log_archive):
    tmp = tmp_path_factory.mktemp("corpus")
    with FaultServer() as app, FaultServer() as victim:
        env = {
            "ENVIRONMENT": "local",
            "DEFAULT_BACKEND": "app",
            "BACKEND_APP_URL": app.url,
            "API_KEY": API_KEY,
            "CORS_ALLOW_ORIGINS": "https://app.example.com",
            "MAX_HEADER_BYTES": "4096",
            "MAX_BODY_BYTES": "1024",
            "UPSTREAM_TIMEOUT_MS": "3000",
            "CLIENT_HEADER_TIMEOUT_MS": "3000",
            "CLIENT_BODY_TIMEOUT_MS": "2000",
        }
        try:
            with running_twin(env, tmp) as twin:
                yield Setup(app, victim, twin)
        finally:
            for path in tmp.glob("*.log"):
                shutil.copyfile(path, log_archive / f"corpus-{path.name}")


def _addresses(setup: Setup) -> list[str]:
    return [
        f"127.0.0.1:{setup.app.port}",
        f"127.0.0.1:{setup.victim.port}",
        f":{setup.app.port}",
        f":{setup.victim.port}",
    ]


@pytest.mark.parametrize("case", CORPUS, ids=[case["name"] for case in CORPUS])
def test_hostile_request(setup: Setup, case: dict) -> None:
    app = setup.app
    heads_before, done_before = len(app.requests), len(app.completed)
    data = setup.expand(case["request"]).encode("latin-1")
    response = raw_exchange(setup.port, data, timeout_s=8.0, linger_s=1.0 if case.get("closed") else 0.0)
    time.sleep(0.02)  # let the backend's thread record what it read
    # A background health check may land in between; it is not the case's doing.
    heads = [h for h in app.requests[heads_before:] if h != ("GET", "/health")]
    done = [d for d in app.completed[done_before:] if (d.method, d.target) != ("GET", "/health")]

    assert response.status is not None, f"no answer; got {response.raw[:200]!r}"
    assert response.status < 500, f"{response.status}: {response.body[:300]!r}"
    assert response.status == case["status"], f"{response.status}: {response.body[:300]!r}"
    if response.status >= 400:  # the gateway's own answers (2xx bodies are the backend's echo)
        for address in _addresses(setup):
            assert address not in response.raw.decode("latin-1"), "an error names a backend's address"
        assert response.headers.get("content-type") == "application/json"
        error = json.loads(response.body)["error"]
        assert set(error) == {"code", "message", "request_id"}
        assert error["code"] == case["code"]
        assert API_KEY not in response.body.decode("latin-1")
    if case.get("closed"):
        assert response.closed, "the connection should be closed after a request the parser refused"

    reach = case.get("reach", "full" if response.status < 300 else "none")
    if reach == "none":
        assert heads == [], f"the backend saw {heads}"
    elif reach == "head":
        assert done == [], "the backend received a complete request"
        assert len(heads) <= 1
    else:
        assert len(done) == 1, f"the backend saw {heads}"
        seen = done[0]
        if "target" in case:
            assert seen.target == setup.expand(case["target"])
        if "method" in case:
            assert seen.method == case["method"]
        if "body" in case:
            assert seen.body == setup.expand(case["body"]).encode("latin-1")
        for name, value in case.get("upstream_has", {}).items():
            assert seen.headers.get(name) == setup.expand(value), name
        for name, value in case.get("upstream_has_not", {}).items():
            assert seen.headers.get(name) != setup.expand(value), name
        for name in case.get("upstream_lacks", []):
            assert name not in seen.headers, name
        assert "authorization" not in seen.headers and "x-api-key" not in seen.headers

    for name, value in case.get("response_has", {}).items():
        assert response.headers.get(name) == setup.expand(value), name
    for name, value in case.get("response_has_not", {}).items():
        assert response.headers.get(name) != setup.expand(value), name
    for name in case.get("response_lacks", []):
        assert name not in response.headers, name

    # The unregistered victim: never contacted, by this case or any before it.
    assert setup.victim.accepted == 0, f"the victim was contacted: {setup.victim.requests}"
    assert setup.victim.requests == []


def test_a_gzip_request_body_reaches_the_backend_byte_for_byte(setup: Setup) -> None:
    # Before the fix the twin's server inflated it and sent the plain text
    # under the compressed Content-Length, still labelled gzip.
    body = gzip.compress(b"hello world " * 100)
    head = f"POST /gz HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {API_KEY}\r\nContent-Encoding: gzip\r\nContent-Length: {len(body)}\r\n\r\n"
    before = len(setup.app.completed)
    response = raw_exchange(setup.port, head.encode() + body)

    assert response.status == 200
    assert setup.app.completed[before].body == body
