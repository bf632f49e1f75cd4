"""``python -m bench.backends``: see bench/backends/run.py."""

import sys

from bench.backends.run import main

sys.exit(main())
