"""Fixtures of the hardening suite.

Every twin a test starts writes its output under that test's ``tmp_path``;
after each test those files are copied to one session-wide folder so that
``test_zz_logs.py`` can scan everything the suite made the twin write.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

_ARCHIVE: list[Path] = []


@pytest.fixture(scope="session")
def log_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("twin-logs")
    _ARCHIVE.append(folder)
    return folder


@pytest.fixture(autouse=True)
def _archive_twin_logs(tmp_path: Path, log_archive: Path, request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    for index, path in enumerate(sorted(tmp_path.rglob("*.log"))):
        name = f"{request.node.name}-{index}-{path.name}".replace("/", "_")[:200]
        shutil.copyfile(path, log_archive / name)
