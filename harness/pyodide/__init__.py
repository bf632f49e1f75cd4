"""The Worker in Node on the exact Pyodide build workerd uses (harness.mjs, isolate.mjs, bench.mjs)."""
