"""Before a configuration is loaded: does it answer the benchmark request right, and is every twin feature on?"""

from __future__ import annotations

import json
import time
import urllib.request

from bench.common import http_get, log
from bench.nginx import UPSTREAM_BODY
from bench.peers import Launch, Server
from bench.request import ORIGIN, REQUEST_HEADERS


def check(srv: Server, ctx: Launch) -> None:
    """Proves a configuration answers the benchmark request correctly before loading it."""
    try:
        status, body = http_get(srv.url, srv.headers, timeout=5)
    except OSError as exc:
        status, body = 0, str(exc).encode()
    if body.decode(errors="replace") != UPSTREAM_BODY:
        srv.unavailable(f"HTTP {status}, body differs from the upstream's: {body[:200]!r}")
    elif srv.name.startswith("twin"):
        check_twin_features(srv, ctx)


def check_twin_features(srv: Server, ctx: Launch) -> None:
    """Records evidence that each feature is really on (printed, not enforced)."""
    req = urllib.request.Request(srv.url, headers=REQUEST_HEADERS)
    with urllib.request.urlopen(req, timeout=5) as r:
        request_id = r.headers.get("x-request-id")
        allow_origin = r.headers.get("access-control-allow-origin")
    no_key, _ = http_get(srv.url, {"Origin": ORIGIN})
    time.sleep(0.7)  # the twin flushes its log every 0.5 s
    log_file = ctx.twin_log(srv.name)
    log_lines = log_file.read_text(errors="replace").splitlines() if log_file.exists() else []
    json_lines = 0
    for ln in log_lines[-20:]:
        try:
            json.loads(ln)
            json_lines += 1
        except ValueError:
            pass
    feats = {
        "cors_allow_origin_header": allow_origin,
        "request_id_header": request_id,
        "status_without_api_key": no_key,
        "log_lines_so_far": len(log_lines),
        "json_log_lines_of_last_20": json_lines,
    }
    srv.info["features"] = feats
    log(f"{srv.name} features: {feats}")
