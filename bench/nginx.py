"""nginx as the upstream (a fixed ~200-byte JSON from memory) and as the proxy peer, each with its own config."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bench.common import HOST, http_get
from bench.request import EXTRA_HEADERS, MANY_HEADERS_PREFIX
from harness.process import Service

# ~200 bytes of JSON: what a small API answer looks like. Served by nginx from
# memory (`return 200`), so the upstream costs almost nothing per request.
UPSTREAM_BODY = json.dumps(
    {
        "id": "7f3c2a9e-5b1d-4c8e-9a2f-0d6b4e8c1a73",
        "status": "ok",
        "items": [{"n": i, "name": f"item-{i}"} for i in range(4)],
        "ts": "2026-01-01T00:00:00Z",
        "pad": "x" * 32,
    },
    separators=(",", ":"),
)

NGINX_COMMON = """\
daemon off;
master_process on;
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 8192; multi_accept on; }}
http {{
  client_body_temp_path {dir}/client_body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  server_tokens off;
{body}
}}
"""

UPSTREAM_SERVER = """\
  server {{
    listen {host}:{port} backlog=4096;
    location = /__stats {{ stub_status; }}
    location {many_prefix}/ {{
      default_type application/json;
{many_headers}
      return 200 '{payload}';
    }}
    location / {{
      default_type application/json;
      return 200 '{payload}';
    }}
  }}
"""

PROXY_SERVER = """\
  upstream backend {{ server {upstream}; keepalive 128; }}
  server {{
    listen {host}:{port} backlog=4096;
    location / {{
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }}
  }}
"""


def nginx_bin() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def nginx(name: str, workdir: Path, body: str, workers: int, health_url: str) -> Service:
    """nginx with its own config, pid and temp folders under ``workdir/name`` (never the system's)."""
    d = workdir / name
    d.mkdir(parents=True, exist_ok=True)
    conf = d / "nginx.conf"
    conf.write_text(NGINX_COMMON.format(workers=workers, dir=d, body=body))
    argv = [nginx_bin(), "-p", str(d), "-e", str(d / "error.log"), "-c", str(conf)]
    return Service(name, argv, log_path=d / "stdout.log", health_url=health_url)


def upstream_nginx(workdir: Path, port: int, workers: int = 1) -> Service:
    """The upstream every configuration forwards to: UPSTREAM_BODY, its /many-headers/ twin and stub_status."""
    payload = UPSTREAM_BODY.replace("'", "\\'")
    many = "\n".join(f"      add_header {name} {value};" for name, value in EXTRA_HEADERS.items())
    body = UPSTREAM_SERVER.format(
        host=HOST, port=port, payload=payload, many_prefix=MANY_HEADERS_PREFIX, many_headers=many
    )
    return nginx("upstream-nginx", workdir, body, workers, f"http://{HOST}:{port}/")


def proxy_nginx(name: str, workdir: Path, port: int, upstream: str, workers: int, health_url: str) -> Service:
    """nginx proxy_pass to ``upstream`` (host:port) with a keep-alive pool."""
    body = PROXY_SERVER.format(host=HOST, port=port, upstream=upstream)
    return nginx(name, workdir, body, workers, health_url)


def upstream_request_count(port: int) -> int:
    """Total requests nginx has served (stub_status), including this one."""
    _, body = http_get(f"http://{HOST}:{port}/__stats")
    # "Active connections: 1 \nserver accepts handled requests\n 5 5 12 \n..."
    return int(body.decode().splitlines()[2].split()[2])
