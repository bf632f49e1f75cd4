#!/usr/bin/env bash
# One command for the whole benchmark suite: installs what is missing, then runs it.
#   bench/run.sh            full run (~15 minutes)
#   bench/run.sh --quick    smoke run (~3 minutes)
# Any other option goes to the suite, `python -m bench` (see `bench/run.sh --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/setup.sh
exec .venv/bin/python -m bench "$@"
