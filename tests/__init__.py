"""The test suites (a package, so tests/harness and tests/bench never shadow the top-level harness and bench)."""
