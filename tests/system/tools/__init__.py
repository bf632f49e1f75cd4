"""Tools run against a stack they start: ``python -m devstack`` and ``gtd-data``."""
