"""The benchmarks: the gateway suite (``python -m bench``, bench/run.sh), ``bench.backends``
(make bench-backends), ``bench.lighthouse`` (make bench-lighthouse) and the one-question tools
(``bench.workers``, ``bench.hotpath``, ``bench.profile_twin``, ``bench.workerd.*``).

Processes are started with ``harness``; what measuring needs on top lives here:
``procfs`` (CPU, RSS), ``nginx`` (upstream and proxy), ``wrk``, ``rounds``, ``stats``.
"""
