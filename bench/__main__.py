"""``python -m bench``: the gateway benchmark suite (bench/run.sh runs it after bench/setup.sh)."""

import sys

from bench.cli import main

sys.exit(main())
