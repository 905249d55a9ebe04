"""Benchmarks of the Linq adapter against what a user would pick instead.

Run ``python benchmarks/run.py`` (see ``docs/benchmarks.md``). The modules here
are importable from the project's own interpreter (the smoke test does), so
nothing at import time needs the official SDK or matplotlib: those are imported
inside the functions that use them, which run in the benchmark environment.
"""
