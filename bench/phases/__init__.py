"""The suite's phases, one module each, each a ``run(suite)`` that adds its part to ``suite.results``:

main (peers at c1 and c32), scale (twin with 2…10,000 backends), stream (1 GiB each way),
pyodide (harness/pyodide/bench.mjs), workerd (every Worker in one workerd).
"""

from bench.phases import main, pyodide, scale, stream, workerd

__all__ = ["main", "pyodide", "scale", "stream", "workerd"]
