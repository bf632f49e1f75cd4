"""``python -m bench.lighthouse``: see bench/lighthouse/run.py."""

import sys

from bench.lighthouse.run import main

sys.exit(main())
