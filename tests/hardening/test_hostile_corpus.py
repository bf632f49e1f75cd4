"""Hostile input: every request of corpus.yaml, byte for byte, over a raw socket.

The corpus runs on two runtimes: the twin (``cpython``) and the unchanged
Worker on real workerd (``workerd``, Miniflare's API, as in tests/behaviour).
One gateway per runtime serves the whole corpus; a recording backend ("app")
is the only registered backend and a second server ("victim") is registered
nowhere. Each case checks the answer (status, JSON error and its code,
connection closed when the parser refused the request), what the backend saw
(nothing, a whole request, or at most a head whose body never completed),
that no answer is a 5xx or names a backend's address, and that the victim has
never been contacted (so far: checked after every case, whatever ran before it).

A case's fields are the twin's expectation. A runtime that differs says so in
its own key (``workerd: {...}``, see :func:`expectation`): most often
``answered_by: runtime``, workerd's HTTP parser answering before the Worker
runs, whose status (or absence of an answer) and closing are pinned exactly.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import socket
import time
from pathlib import Path

import pytest
import yaml

from tests.behaviour.gateways import start_gateway
from tests.hardening.support import API_KEY, RawResponse, parse_response, raw_exchange, wait_until
from tests.support.processes import running_twin
from tests.support.upstream import FaultServer

CORPUS = yaml.safe_load((Path(__file__).with_name("corpus.yaml")).read_text())
_PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)(?::(\d+):(.))?\}")
RUNTIMES = ("cpython", "workerd")
#: What describes the answer itself; a runtime override that sets ``status`` replaces all of them.
_ANSWER_FIELDS = ("status", "code", "closed", "reach")
_OVERRIDE_FIELDS = {"status", "code", "closed", "reach", "target", "upstream_has", "answered_by", "why", "known_bug"}


def expectation(case: dict, runtime: str) -> dict:
    """The case as ``runtime`` must answer it: the twin's fields, with the runtime's own key over them.

    ``answered_by: runtime`` (workerd only) says the runtime's HTTP layer answers before
    the Worker runs: no JSON error of ours, no backend reached; ``status`` is the runtime's
    (``null``: no answer at all) and ``closed`` whether it closes the connection.
    ``answered_by: gateway`` (the default) holds the answer to every rule of our code;
    ``known_bug`` (with the pinned 5xx) names a rule it still breaks, so a fix shows up as a failure.
    """
    own = case.get(runtime, {})
    base = {k: v for k, v in case.items() if k not in RUNTIMES}
    if "status" in own:
        base = {k: v for k, v in base.items() if k not in _ANSWER_FIELDS}
    return {"answered_by": "gateway", **base, **own}


def test_corpus_has_at_least_200_cases_with_unique_names():
    names = [case["name"] for case in CORPUS]
    assert len(names) >= 200
    assert len(set(names)) == len(names)


def test_every_error_case_pins_its_code():
    unpinned = [
        (case["name"], runtime)
        for case in CORPUS
        for runtime in RUNTIMES
        if (want := expectation(case, runtime))["answered_by"] == "gateway"
        and want["status"] >= 400
        and "code" not in want
    ]
    assert unpinned == []


def test_runtime_overrides_are_well_formed():
    for case in CORPUS:
        assert "cpython" not in case, f"{case['name']}: the case's own fields are the twin's"
        own = case.get("workerd", {})
        assert set(own) <= _OVERRIDE_FIELDS, (case["name"], set(own) - _OVERRIDE_FIELDS)
        if own:
            assert own.get("why") or own.get("known_bug"), f"{case['name']}: a runtime's difference says why"
        if own.get("answered_by") == "runtime":
            assert "status" in own and "closed" in own and "code" not in own, case["name"]


class Setup:
    def __init__(self, runtime: str, app, victim, url: str) -> None:
        self.runtime, self.app, self.victim = runtime, app, victim
        self.port = int(url.rstrip("/").rsplit(":", 1)[1])

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


#: Sent on the case's connection once its answer is in, to learn whether the peer kept it open.
#: Without credentials, so our code answers it (401) and no backend sees it.
_PROBE = b"GET /zz-probe HTTP/1.1\r\nHost: gw.example\r\n\r\n"


def exchange(port: int, data: bytes, *, timeout_s: float, probe: bool) -> RawResponse:
    """Send ``data`` and read one response, as :func:`tests.hardening.support.raw_exchange` does.

    Two differences, both so a case costs its events rather than timeouts: a response that
    has no body by definition (to HEAD; 204, 304) is complete at its head, without
    waiting for the peer to close; and with ``probe``, whether the connection stayed open
    is learnt from an event, the peer's answer to :data:`_PROBE` on the same connection
    (kept open: it reads further requests) or the end of the stream / a reset (closed),
    instead of waiting a fixed time for a close that a kept-open connection never shows.
    An answer that ends with the stream is closed; one that never completes is kept open
    if not closed by the deadline.
    """
    bodiless = data.startswith(b"HEAD ")
    deadline = time.monotonic() + timeout_s
    received = b""
    closed = complete = False
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        try:
            sock.sendall(data)
        except OSError:
            pass  # the server may cut us off before we finish writing
        while time.monotonic() < deadline:
            status, headers, body = parse_response(received)
            length = headers.get("content-length", "")
            if status is not None and (
                bodiless or status in (204, 304) or (length.isdigit() and len(body) >= int(length))
            ):
                complete = True
                break
            chunk, closed = _receive(sock, deadline)
            if closed or not chunk:
                break
            received += chunk
        if complete and probe:
            try:
                sock.sendall(_PROBE)
            except OSError:
                closed = True
            else:
                # Any byte back: the probe was read, so the connection was open; an end of stream: closed.
                chunk, closed = _receive(sock, deadline)
    status, headers, body = parse_response(received)
    return RawResponse(status, headers, body, closed, received)


def _receive(sock: socket.socket, deadline: float) -> tuple[bytes, bool]:
    """The next bytes on ``sock`` and whether the stream ended or broke (b"" and False: the deadline passed)."""
    sock.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        chunk = sock.recv(65536)
    except TimeoutError:
        return b"", False
    except OSError:
        return b"", True
    return chunk, chunk == b""


@pytest.fixture(scope="module", params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def setup(runtime, tmp_path_factory, log_archive):
    tmp = tmp_path_factory.mktemp(f"corpus-{runtime}")
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
            if runtime == "cpython":
                with running_twin(env, tmp) as twin:
                    yield Setup(runtime, app, victim, twin.url)
            else:
                # The Worker reads the same settings; the twin-only ones (CLIENT_*) are ignored.
                gateway = start_gateway(runtime, tmp, env)
                try:
                    yield Setup(runtime, app, victim, gateway.url())
                finally:
                    gateway.stop()
        finally:
            for path in tmp.rglob("*.log"):
                shutil.copyfile(path, log_archive / f"corpus-{runtime}-{path.name}")


def _addresses(setup: Setup) -> list[str]:
    return [
        f"127.0.0.1:{setup.app.port}",
        f"127.0.0.1:{setup.victim.port}",
        f":{setup.app.port}",
        f":{setup.victim.port}",
    ]


@pytest.mark.parametrize("case", CORPUS, ids=[case["name"] for case in CORPUS])
def test_hostile_request(setup: Setup, case: dict) -> None:
    want = expectation(case, setup.runtime)
    app = setup.app
    heads_before, done_before = len(app.requests), len(app.completed)
    data = setup.expand(case["request"]).encode("latin-1")
    response = exchange(setup.port, data, timeout_s=8.0, probe="closed" in want)
    # A plain request after the case, to the same backend: once it is in, what the case sent is too
    # (what did not reach the backend is checked after an event, not after a sleep).
    marker = ("GET", f"/zz-after/{case['name']}")
    after = setup.expand(f"GET {marker[1]} HTTP/1.1\r\nHost: gw.example\r\n${{AUTH}}Connection: close\r\n\r\n")
    assert raw_exchange(setup.port, after.encode("latin-1"), timeout_s=8.0, linger_s=0.0).status == 200
    assert wait_until(lambda: marker in app.requests[heads_before:], timeout_s=8.0), "the marker never arrived"
    # A background health check may land in between; it is not the case's doing.
    ours = {("GET", "/health"), marker}
    heads = [h for h in app.requests[heads_before:] if h not in ours]
    done = [d for d in app.completed[done_before:] if (d.method, d.target) not in ours]
    if response.status is None or response.status >= 400:  # 2xx bodies are the backend's echo
        text = response.raw.decode("latin-1")
        for address in _addresses(setup):
            assert address not in text, "an error names a backend's address"
        assert API_KEY not in text

    if want["answered_by"] == "runtime":
        # The runtime's HTTP layer answered: exactly its status (None: no answer at all)
        # and closing, nothing of ours in it, nothing reached the backend.
        assert response.status == want["status"], f"{response.status}: {response.raw[:300]!r}"
        assert "x-request-id" not in response.headers, "our code answered, not the runtime"
        assert response.closed == want["closed"]
        assert heads == [], f"the backend saw {heads}"
    else:
        _check_gateway_answer(setup, want, response, heads, done)

    # The unregistered victim: never contacted, by this case or any before it.
    assert setup.victim.accepted == 0, f"the victim was contacted: {setup.victim.requests}"
    assert setup.victim.requests == []


def _check_gateway_answer(setup: Setup, want: dict, response, heads: list, done: list) -> None:
    """Every rule of our code: status and code as pinned, JSON errors, what the backend saw."""
    assert response.status is not None, f"no answer; got {response.raw[:200]!r}"
    assert response.status == want["status"], f"{response.status}: {response.body[:300]!r}"
    if not want.get("known_bug"):
        assert response.status < 500, f"{response.status}: {response.body[:300]!r}"
    if response.status >= 400:  # the gateway's own answers (2xx bodies are the backend's echo)
        assert response.headers.get("content-type") == "application/json"
        error = json.loads(response.body)["error"]
        assert set(error) == {"code", "message", "request_id"}
        assert error["code"] == want["code"]
        assert error["request_id"] == response.headers.get("x-request-id")
    if "closed" in want:
        assert response.closed == want["closed"], "closed" if response.closed else "kept open"

    reach = want.get("reach", "full" if response.status < 300 else "none")
    if reach == "none":
        assert heads == [], f"the backend saw {heads}"
    elif reach == "head":
        assert done == [], "the backend received a complete request"
        assert len(heads) <= 1
    else:
        assert len(done) == 1, f"the backend saw {heads}"
        seen = done[0]
        if "target" in want:
            assert seen.target == setup.expand(want["target"])
        if "method" in want:
            assert seen.method == want["method"]
        if "body" in want:
            assert seen.body == setup.expand(want["body"]).encode("latin-1")
        for name, value in want.get("upstream_has", {}).items():
            assert seen.headers.get(name) == setup.expand(value), name
        for name, value in want.get("upstream_has_not", {}).items():
            assert seen.headers.get(name) != setup.expand(value), name
        for name in want.get("upstream_lacks", []):
            assert name not in seen.headers, name
        assert "authorization" not in seen.headers and "x-api-key" not in seen.headers

    for name, value in want.get("response_has", {}).items():
        assert response.headers.get(name) == setup.expand(value), name
    for name, value in want.get("response_has_not", {}).items():
        assert response.headers.get(name) != setup.expand(value), name
    for name in want.get("response_lacks", []):
        assert name not in response.headers, name


def test_a_gzip_request_body_reaches_the_backend_byte_for_byte(setup: Setup) -> None:
    # Before the fix the twin's server inflated it and sent the plain text
    # under the compressed Content-Length, still labelled gzip.
    body = gzip.compress(b"hello world " * 100)
    head = f"POST /gz HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {API_KEY}\r\nContent-Encoding: gzip\r\nContent-Length: {len(body)}\r\n\r\n"
    before = len(setup.app.completed)
    response = raw_exchange(setup.port, head.encode() + body)

    assert response.status == 200
    assert setup.app.completed[before].body == body
