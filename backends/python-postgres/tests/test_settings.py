import pytest

from gtd_pg.settings import DEFAULT_DATABASE_URL, SettingsError, load_settings, redact


def test_defaults():
    s = load_settings({})
    assert (s.port, s.host, s.database_url, s.backend_id, s.workers, s.pool_max) == (
        3004,
        "0.0.0.0",
        DEFAULT_DATABASE_URL,
        "python-postgres",
        1,
        10,
    )


def test_values_from_the_environment():
    s = load_settings(
        {
            "PORT": "8080",
            "HOST": "127.0.0.1",
            "DATABASE_URL": "postgres://u:p@db:5433/gtd",
            "BACKEND_ID": "pg-eu",
            "WORKERS": "4",
            "POOL_MAX": "3",
        }
    )
    assert (s.port, s.host, s.database_url, s.backend_id, s.workers, s.pool_max) == (
        8080,
        "127.0.0.1",
        "postgres://u:p@db:5433/gtd",
        "pg-eu",
        4,
        3,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"PORT": "seventy"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"PORT": "0"}, "PORT"),
        ({"WORKERS": "0"}, "WORKERS"),
        ({"WORKERS": "-1"}, "WORKERS"),
        ({"POOL_MAX": "ten"}, "POOL_MAX"),
        ({"DB_TIMEOUT_MS": "0"}, "DB_TIMEOUT_MS"),
        ({"DB_TIMEOUT_MS": "1s"}, "DB_TIMEOUT_MS"),
        ({"DATABASE_URL": "file:./data/gtd.db"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://u:p@host:99999/db"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://u:p@host:5432"}, "DATABASE_URL"),
    ],
)
def test_bad_values_name_the_variable(env, variable):
    with pytest.raises(SettingsError, match=variable):
        load_settings(env)


def test_db_timeout_defaults_to_5_seconds():
    assert load_settings({}).db_timeout_ms == 5000


def test_db_timeout_from_the_environment():
    assert load_settings({"DB_TIMEOUT_MS": "750"}).db_timeout_ms == 750


def test_errors_and_logs_never_show_the_password():
    with pytest.raises(SettingsError) as excinfo:
        load_settings({"DATABASE_URL": "mysql://user:s3cret@host/db"})
    assert "s3cret" not in str(excinfo.value)
    assert redact("postgresql://gtd:s3cret@127.0.0.1:5432/gtd") == "postgresql://gtd:***@127.0.0.1:5432/gtd"
