"""bench.common: the end of a run's work folder."""

from __future__ import annotations

import pytest

from bench.common import drop_workdir, make_workdir


def test_drop_workdir_removes_the_folder_and_what_is_in_it():
    workdir = make_workdir("bench-test-")
    (workdir / "logs").mkdir()
    (workdir / "logs" / "server.log").write_text("x")
    drop_workdir(workdir, keep=False)
    assert not workdir.exists()


def test_drop_workdir_with_keep_leaves_the_folder_and_logs_its_path(capsys: pytest.CaptureFixture[str]):
    workdir = make_workdir("bench-test-")
    try:
        drop_workdir(workdir, keep=True)
        assert workdir.is_dir()
        assert f"kept {workdir}" in capsys.readouterr().out
    finally:
        workdir.rmdir()
