import json

from gateway.logs import RequestLog, log_event
from tests.support.logs import REQUEST_LINE_FIELDS
from tests.unit.fakes import WALL_START, Logs


def test_request_line_is_one_json_object_with_the_listed_fields():
    log = RequestLog.start(WALL_START, "rid", "GET", "/tasks")
    line = log.line()
    assert "\n" not in line
    assert set(json.loads(line)) == REQUEST_LINE_FIELDS


def test_timestamp_is_iso_utc_with_milliseconds():
    assert RequestLog.start(WALL_START + 0.25, "r", "GET", "/").ts == "2023-11-14T22:13:20.250Z"


def test_request_line_defaults():
    doc = json.loads(RequestLog.start(WALL_START, "rid", "GET", "/x").line())
    assert doc["backend"] is None and doc["upstream_ms"] is None and doc["outcome"] == "proxied"


def test_event_line_carries_event_and_fields():
    logs = Logs()
    log_event(logs, WALL_START, "registry_kv_error", backend="x", error="OSError")
    (line,) = logs
    assert json.loads(line) == {
        "ts": "2023-11-14T22:13:20.000Z",
        "event": "registry_kv_error",
        "backend": "x",
        "error": "OSError",
    }


def test_event_line_renders_unusual_values_as_strings():
    logs = Logs()
    log_event(logs, WALL_START, "e", thing=ValueError("v"))
    assert json.loads(logs[0])["thing"] == "v"


def test_line_escapes_hostile_strings_into_valid_json():
    from gateway.logs import RequestLog

    log = RequestLog.start(1_700_000_000.5, 'id"1', "GE\nT", '/a"b\\c\u2028\x00é')
    log.backend, log.location, log.status, log.duration_ms, log.upstream_ms = None, "local", 200, 1.5, None
    record = json.loads(log.line())
    assert record["request_id"] == 'id"1'
    assert record["method"] == "GE\nT"
    assert record["path"] == '/a"b\\c\u2028\x00é'
    assert (record["backend"], record["upstream_ms"], record["duration_ms"]) == (None, None, 1.5)
    assert record["ts"] == "2023-11-14T22:13:20.500Z"
