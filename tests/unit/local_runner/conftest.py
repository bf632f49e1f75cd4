"""Fixtures of the twin's unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from local_runner.upstream_client import HttpFetch


@pytest.fixture
async def fetch() -> AsyncIterator[HttpFetch]:
    client = HttpFetch(body_idle_timeout_s=2)
    yield client
    await client.close()
