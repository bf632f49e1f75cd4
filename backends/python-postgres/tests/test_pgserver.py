"""pgserver: a private PostgreSQL that initialises once, restarts with its data, and stops cleanly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import pgserver

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def server():
    try:
        pgserver.find_bindir()
    except pgserver.PgServerError as exc:
        pytest.fail(f"{exc} (apt-get install postgresql)", pytrace=False)
    srv = pgserver.PgServer.temporary()
    yield srv
    srv.__exit__(None, None, None)


def test_start_stop_restart_keeps_data(server):
    server.start()
    assert server.running()
    assert server.psql("SELECT current_setting('listen_addresses')").strip() == "127.0.0.1"
    server.psql("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')", database=server.database)
    assert server.stop(mode="smart") is True
    assert not server.running()
    assert server.stop() is False  # already stopped
    server.start()
    assert server.psql("SELECT v FROM kept", database=server.database).strip() == "still here"
    encoding = server.psql(f"SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = '{server.database}'")
    assert encoding.strip() == "UTF8"


def test_start_is_idempotent_and_status_reports(server):
    server.start()
    server.start()
    info = server.status()
    assert info["running"] and info["port"] == server.port and info["initialized"]
    if os.geteuid() == 0:
        assert info["server_user"] != "root"


def test_a_non_cluster_directory_is_refused(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "something").write_text("x")
    with pytest.raises(pgserver.PgServerError, match="not empty"):
        pgserver.PgServer(tmp_path / "data", port=pgserver.free_port()).init()


def test_cli_start_status_stop(server):
    args = ["--data-dir", str(server.data_dir), "--port", str(server.port)]

    def cli(*argv):
        return subprocess.run(
            [sys.executable, str(ROOT / "pgserver.py"), *argv, *args], capture_output=True, text=True, timeout=120
        )

    assert cli("status").returncode == 3
    started = cli("start")
    assert started.returncode == 0, started.stderr
    assert server.database_url in started.stdout
    assert cli("status").returncode == 0
    assert cli("stop", "--mode", "fast").stdout.strip() == "stopped"
    assert cli("status").returncode == 3
