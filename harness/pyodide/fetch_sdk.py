"""Download the pinned ``workers`` SDK wheel the Pyodide harness loads.

    python harness/pyodide/fetch_sdk.py [--dest .cache/wheels]

Uses ``pip download --no-deps`` (the package registry is the only network the
tests need) and checks the wheel's SHA-256, so a re-published file is noticed.
Prints the wheel's path. Does nothing when the checked wheel is already there.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REQUIREMENT = "workers-runtime-sdk==1.9.5"
WHEEL = "workers_runtime_sdk-1.9.5-py3-none-any.whl"
SHA256 = "f2b912660a3ab60d2a24920106422f9eaf4cd7a794e42b022237ad2444287fef"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ensure_wheel(dest: Path = REPO / ".cache" / "wheels") -> Path:
    """Return the path of the checked wheel, downloading it if needed."""
    wheel = dest / WHEEL
    if not (wheel.exists() and _sha256(wheel) == SHA256):
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--quiet",
                "--dest",
                str(dest),
                REQUIREMENT,
            ],
            check=True,
        )
        digest = _sha256(wheel)
        if digest != SHA256:
            raise SystemExit(f"{wheel}: sha256 {digest} != pinned {SHA256}")
    return wheel


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=REPO / ".cache" / "wheels")
    print(ensure_wheel(parser.parse_args().dest))
