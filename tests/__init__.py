"""The test suites, one folder per level (tests/README.md); a package, so tests/unit/harness and tests/unit/bench never shadow the top-level harness and bench."""
