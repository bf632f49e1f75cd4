"""Start, wait for and stop the project's processes: one way, used everywhere.

``devstack.process`` is the mechanism (a :class:`~devstack.process.Service`
in its own process group, a free port, a bounded health wait, a stop that
takes the whole group down); ``devstack.services`` holds the recipes for
the GTD stack's processes; ``python -m devstack`` runs the stack (``make run``).
Used by ``make run``, every test suite that starts a process, the soak
script and the benchmarks.
"""
