"""Benchmarks: each module is one command that prints its figures (see docs/benchmarks.md)."""
