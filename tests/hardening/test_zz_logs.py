"""Secrets never logged: scan everything the suite's twins wrote for the API key.

Named to run last. Run alone, it still drives the one path that used to leak
the key: requests the HTTP parser rejects, whose error message quoted the
offending line (an Authorization header) into the log and the answer.
The scan fails when it finds fewer lines to check than that test leaves.
"""

from __future__ import annotations

import httpx

from tests.hardening.support import API_KEY, raw_exchange, wait_until
from tests.support.processes import running_twin
from tests.support.upstream import FaultServer

MALFORMED_WITH_KEY = [
    f"GET /x HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {API_KEY}\x01\r\n\r\n",
    f"GET /x HTTP/1.1\nHost: t\nAuthorization: Bearer {API_KEY}\n\n",
    f"GET /x HTTP/1.1\r\nHost: t\r\nX-Api-Key: {API_KEY}\r\n folded\r\n\r\n",
    f"GET /x HTTP/1.1\r\nHost: t\r\nX-Api-Key: {API_KEY}\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    f"GET /{API_KEY}\x00 HTTP/1.1\r\nHost: t\r\n\r\n",
]


def test_malformed_requests_carrying_the_key_do_not_log_or_echo_it(tmp_path):
    env = {"ENVIRONMENT": "local", "DEFAULT_BACKEND": "app", "API_KEY": API_KEY}
    with FaultServer() as up, running_twin({**env, "BACKEND_APP_URL": up.url}, tmp_path) as twin:
        port = int(twin.url.rsplit(":", 1)[1])
        answers = [raw_exchange(port, request.encode("latin-1")) for request in MALFORMED_WITH_KEY]
        # A well-formed request after them: once its line is in, anything they made the twin write is too.
        assert httpx.get(twin.url + "/zz-last", timeout=10).status_code == 401  # no key: answered and logged
        assert wait_until(lambda: '"path":"/zz-last"' in twin.output(), timeout_s=10), twin.output()[-2000:]
        output = twin.output()

    assert [a.status for a in answers] == [400] * len(answers)
    assert all(API_KEY.encode() not in a.raw for a in answers)
    assert '"event":"http_rejected"' in output
    assert API_KEY not in output


def test_no_log_written_during_the_suite_contains_the_api_key(log_archive):
    files = sorted(path for path in log_archive.iterdir() if path.is_file())
    contents = {path.name: path.read_bytes() for path in files}
    lines = sum(len(data.splitlines()) for data in contents.values())
    rejected = sum(data.count(b'"event":"http_rejected"') for data in contents.values())

    # Nothing to scan would pass for the wrong reason. At the least, the test
    # above (run before this one, also alone) leaves its twin's log with one
    # http_rejected line per malformed request: the path that used to leak.
    assert len(files) >= 1, f"no twin log in {log_archive} to scan"
    assert lines >= len(MALFORMED_WITH_KEY), f"only {lines} lines in {len(files)} files to scan"
    assert rejected >= len(MALFORMED_WITH_KEY), f"only {rejected} http_rejected lines in {len(files)} files"
    leaks = [name for name, data in contents.items() if API_KEY.encode() in data]
    assert leaks == []
