"""Start, wait for and stop the project's processes: one way, used everywhere.

``harness.process`` is the mechanism (a :class:`~harness.process.Service` in its own
process group, a free port, a bounded health wait, a stop that takes the whole group
down); ``harness.services`` holds the recipes for the GTD stack's processes;
``harness.supervise`` keeps a running stack alive; ``harness.workerd`` runs the Worker on
workerd (the offline Pyodide bundle, the dev overlay, the Node launcher ``launch.mjs``);
``harness/pyodide/`` runs the Worker in Node on the exact Pyodide build. Used alike by
``make run`` (tools/devstack), every test suite that starts a process, and the benchmarks.
"""
