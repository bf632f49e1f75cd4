"""Suite-wide collection order."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Playwright's sync API keeps an event loop running in the main thread for
    # the rest of the session once its session fixtures exist; every asyncio
    # test after it would fail to start its own loop. So the browser suite
    # runs last (a stable sort keeps every other test in its place).
    items.sort(key=lambda item: "tests/system/browser/" in item.nodeid)
