import dataclasses

import pytest

from gateway.settings import Settings, SettingsError

BASE = {"ENVIRONMENT": "local"}


def parse(**env: str) -> Settings:
    return Settings.from_env({**BASE, **env})


def test_settings_object_is_frozen():
    settings = parse()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.environment = "cloud"  # type: ignore[misc]


def test_secrets_mapping_cannot_be_changed():
    settings = parse(D1_TOKEN="t")
    with pytest.raises(TypeError):
        settings.secrets["D1_TOKEN"] = "other"  # type: ignore[index]


def test_defaults_when_only_environment_is_set():
    settings = parse()
    assert settings.environment == "local"
    assert settings.default_backend == "bun-sqlite"
    assert settings.health_ttl_s == 30
    assert settings.api_key is None
    assert settings.cors_enabled is False
    assert settings.local_backends == ()


@pytest.mark.parametrize("value", [None, "", "prod", "LOCALHOST"])
def test_environment_must_be_local_or_cloud(value):
    env = {} if value is None else {"ENVIRONMENT": value}
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    assert err.value.variable == "ENVIRONMENT"
    assert "ENVIRONMENT" in str(err.value)


def test_environment_is_case_insensitive():
    assert Settings.from_env({"ENVIRONMENT": " Cloud "}).environment == "cloud"


def test_default_backend_must_be_a_valid_id():
    with pytest.raises(SettingsError) as err:
        parse(DEFAULT_BACKEND="Bun_SQLite")
    assert err.value.variable == "DEFAULT_BACKEND"


@pytest.mark.parametrize(
    "variable",
    [
        "UPSTREAM_TIMEOUT_MS",
        "HEALTH_TTL_S",
        "HEALTH_TIMEOUT_MS",
        "HEALTH_RETRY_S",
        "REGISTRY_TTL_S",
        "REGISTRY_STALE_S",
        "MAX_BODY_BYTES",
        "MAX_HEADER_BYTES",
        "RATE_LIMIT_REQUESTS",
        "RATE_LIMIT_PERIOD_S",
        "OUTLIER_CONSECUTIVE_5XX",
    ],
)
def test_non_integer_number_is_an_error_naming_the_variable(variable):
    with pytest.raises(SettingsError) as err:
        parse(**{variable: "ten"})
    assert err.value.variable == variable
    assert str(err.value).startswith(variable)


@pytest.mark.parametrize("variable", ["UPSTREAM_TIMEOUT_MS", "HEALTH_TTL_S", "HEALTH_TIMEOUT_MS", "HEALTH_RETRY_S"])
def test_zero_timeout_or_ttl_is_an_error(variable):
    with pytest.raises(SettingsError) as err:
        parse(**{variable: "0"})
    assert err.value.variable == variable


def test_outlier_consecutive_5xx_defaults_to_envoys_5():
    assert parse().outlier_consecutive_5xx == 5


def test_outlier_consecutive_5xx_of_0_turns_it_off_and_below_0_is_an_error():
    assert parse(OUTLIER_CONSECUTIVE_5XX="0").outlier_consecutive_5xx == 0
    with pytest.raises(SettingsError) as err:
        parse(OUTLIER_CONSECUTIVE_5XX="-1")
    assert err.value.variable == "OUTLIER_CONSECUTIVE_5XX"


def test_max_header_bytes_below_1024_is_an_error():
    with pytest.raises(SettingsError) as err:
        parse(MAX_HEADER_BYTES="100")
    assert err.value.variable == "MAX_HEADER_BYTES"


def test_milliseconds_are_converted_to_seconds():
    settings = parse(UPSTREAM_TIMEOUT_MS="1500", HEALTH_TIMEOUT_MS="250")
    assert settings.upstream_timeout_s == 1.5
    assert settings.health_timeout_s == 0.25


def test_empty_number_falls_back_to_default():
    assert parse(HEALTH_TTL_S="  ").health_ttl_s == 30


def test_cors_origins_are_a_comma_list():
    settings = parse(CORS_ALLOW_ORIGINS="https://a.example, http://localhost:3000,")
    assert settings.cors_allow_origins == frozenset({"https://a.example", "http://localhost:3000"})
    assert settings.cors_allow_any is False
    assert settings.cors_enabled is True


def test_cors_star_allows_any_origin():
    settings = parse(CORS_ALLOW_ORIGINS="*")
    assert settings.cors_allow_any is True
    assert settings.cors_enabled is True


@pytest.mark.parametrize("origin", ["https://a.example/", "a.example", "ftp://a.example"])
def test_malformed_cors_origin_is_an_error(origin):
    with pytest.raises(SettingsError) as err:
        parse(CORS_ALLOW_ORIGINS=origin)
    assert err.value.variable == "CORS_ALLOW_ORIGINS"


def test_empty_api_key_means_no_authentication():
    assert parse(API_KEY="").api_key is None


def test_api_key_is_not_in_repr():
    assert "s3cret-key" not in repr(parse(API_KEY="s3cret-key", OTHER="s3cret-key"))


def test_backend_url_variable_registers_a_backend_with_dashed_id():
    (backend,) = parse(BACKEND_BUN_SQLITE_URL="http://127.0.0.1:3001/").local_backends
    assert backend.id == "bun-sqlite"
    assert backend.type == "local"
    assert backend.url == "http://127.0.0.1:3001"
    assert backend.name == "bun-sqlite"
    assert backend.health_path == "/health"


def test_backend_name_and_health_path_are_read():
    (backend,) = parse(
        BACKEND_CF_D1_URL="http://127.0.0.1:8788", BACKEND_CF_D1_NAME="D1 (local)", BACKEND_CF_D1_HEALTH_PATH="/ready"
    ).local_backends
    assert (backend.id, backend.name, backend.health_path) == ("cf-d1", "D1 (local)", "/ready")


def test_backend_cloud_url_adds_a_cloud_entry():
    backends = parse(
        BACKEND_CF_D1_URL="http://127.0.0.1:8788", BACKEND_CF_D1_CLOUD_URL="https://d1.example.com"
    ).local_backends
    assert {(b.id, b.type, b.url) for b in backends} == {
        ("cf-d1", "local", "http://127.0.0.1:8788"),
        ("cf-d1", "cloud", "https://d1.example.com"),
    }


@pytest.mark.parametrize(
    "url", ["localhost:3000", "ftp://h", "http://", "http://u:p@h", "http://h/?q=1", "http://h:99999"]
)
def test_malformed_backend_url_is_an_error_naming_the_variable(url):
    with pytest.raises(SettingsError) as err:
        parse(BACKEND_BUN_SQLITE_URL=url)
    assert err.value.variable == "BACKEND_BUN_SQLITE_URL"


def test_cloud_url_over_plain_http_is_an_error():
    with pytest.raises(SettingsError) as err:
        parse(BACKEND_CF_D1_URL="http://127.0.0.1:8788", BACKEND_CF_D1_CLOUD_URL="http://d1.example.com")
    assert err.value.variable == "BACKEND_CF_D1_CLOUD_URL"


def test_cloud_url_over_plain_http_is_allowed_for_loopback():
    backends = parse(BACKEND_CF_D1_CLOUD_URL="http://127.0.0.1:9000").local_backends
    assert [(b.type, b.url) for b in backends] == [("cloud", "http://127.0.0.1:9000")]


def test_backend_name_without_url_is_an_error():
    with pytest.raises(SettingsError) as err:
        parse(BACKEND_CF_D1_NAME="D1")
    assert err.value.variable == "BACKEND_CF_D1_NAME"


def test_health_path_must_start_with_a_slash():
    with pytest.raises(SettingsError) as err:
        parse(BACKEND_CF_D1_URL="http://127.0.0.1:8788", BACKEND_CF_D1_HEALTH_PATH="health")
    assert err.value.variable == "BACKEND_CF_D1_HEALTH_PATH"


def test_non_string_bindings_are_not_backends():
    settings = Settings.from_env({**BASE, "BACKEND_X_URL": object()})  # type: ignore[dict-item]
    assert settings.local_backends == ()


def test_every_string_variable_is_available_as_a_secret():
    assert parse(D1_ACCESS_ID="abc").secrets["D1_ACCESS_ID"] == "abc"


def test_underscore_headers_defaults_to_drop():
    assert parse().underscore_headers == "drop"


@pytest.mark.parametrize("value", ["drop", "reject", "allow", " Reject "])
def test_underscore_headers_accepts_each_action_in_any_case(value):
    assert parse(UNDERSCORE_HEADERS=value).underscore_headers == value.strip().lower()


def test_underscore_headers_other_value_is_an_error_naming_the_variable():
    with pytest.raises(SettingsError) as info:
        parse(UNDERSCORE_HEADERS="ignore")
    assert info.value.variable == "UNDERSCORE_HEADERS"
