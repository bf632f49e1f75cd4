"""Fixtures shared by the unit tests; the fakes live in ``tests.unit.fakes``."""

from __future__ import annotations

import pytest

from tests.unit.fakes import FakeClock, FakeKV, Logs


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def kv() -> FakeKV:
    return FakeKV()


@pytest.fixture
def logs() -> Logs:
    return Logs()
