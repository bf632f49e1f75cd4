"""Tests of bench/ modules that need no stack."""
