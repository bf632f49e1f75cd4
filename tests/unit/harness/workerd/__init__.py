"""Tests of harness/workerd/: the dev overlay and the launcher."""
