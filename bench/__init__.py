"""Benchmarks: ``scripts/bench intake|e2e|soak`` (``python -m bench``)."""
