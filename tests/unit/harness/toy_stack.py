"""A launcher run over cheap services, for tests/unit/harness/test_supervise.py.

    python tests/unit/harness/toy_stack.py DATA_DIR NAME:KIND:PORT ... [--stable-s S]

The same ``harness.supervise.run`` as ``python -m devstack``, over small
Python HTTP servers instead of the GTD stack. KIND:

    steady   ``python -m http.server``: up until it is killed
    flaky    answers one request (its health check), then exits with status 3
    broken   exits with status 3 at once (cannot start)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness import supervise
from harness.process import Service, tool_env

#: One answer, then exit 3: a service that keeps dying young.
FLAKY = """
import http.server, sys
class Once(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Once).handle_request()
sys.exit(3)
"""


def toy(name: str, kind: str, port: int, data_dir: Path) -> Service:
    argv = {
        "steady": [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(data_dir)],
        "flaky": [sys.executable, "-c", FLAKY, str(port)],
        "broken": [sys.executable, "-c", "raise SystemExit(3)"],
    }[kind]
    return Service(
        name,
        argv,
        log_path=data_dir / "logs" / f"{name}.log",
        health_url=f"http://127.0.0.1:{port}/",
        env=tool_env(inherit=False),
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("services", nargs="+", help="NAME:KIND:PORT")
    parser.add_argument("--stable-s", type=float, default=supervise.STABLE_S)
    args = parser.parse_args()
    stack = []
    for spec in args.services:
        name, kind, port = spec.split(":")
        stack.append(toy(name, kind, int(port), args.data_dir))
    return supervise.run(
        stack,
        state_file=args.data_dir / "run" / "services.json",
        deadline_s=30,
        grace_s=5,
        banner=lambda: "toy stack up",
        stable_s=args.stable_s,
    )


if __name__ == "__main__":
    sys.exit(main())
