"""Shadow traffic between real backends through the twin: to and from elixir-sqlite.

The gateway's shadow machinery is specified in tests/behaviour/test_shadow.py against scripted
upstreams; this proves it with real backends of different stacks on both ends (issue #21: a new
backend must take shadow traffic and be shadowed like the others).
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

#: Bounds a poll for the counters (a shadow is sent after the answer), never asserted.
POLL_DEADLINE_S = 30


def counters(client: httpx.Client) -> dict[str, int]:
    response = client.get("/_gateway/shadow")
    assert response.status_code == 200, response.text
    return dict(response.json()["counters"])


@pytest.mark.parametrize(
    ("primary", "shadow"), [("elixir-sqlite", "bun-sqlite"), ("bun-sqlite", "elixir-sqlite")], ids=["from", "to"]
)
def test_a_read_is_shadowed_and_compared_between_real_backends(gateway_url: str, primary: str, shadow: str) -> None:
    with httpx.Client(base_url=gateway_url, timeout=30) as client:
        before = counters(client)
        missing = str(uuid.uuid4())
        response = client.get(f"/tasks/{missing}", headers={"x-backend": primary, "x-backend-shadow": shadow})
        assert response.status_code == 404, response.text
        assert response.headers["x-backend"] == primary
        deadline = time.monotonic() + POLL_DEADLINE_S
        while (after := counters(client))["compared"] == before["compared"]:
            assert after["failed"] == before["failed"], after
            assert time.monotonic() < deadline, f"no shadow compared: {after}"
            time.sleep(0.05)
        assert after["compared"] == before["compared"] + 1
        assert after["failed"] == before["failed"]
