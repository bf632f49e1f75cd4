"""Tests of harness/: the process library, the recipes, the supervisor, workerd."""
