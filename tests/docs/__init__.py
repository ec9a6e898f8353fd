"""Every command README.md and docs/ show is run by a test (see test_coverage.py)."""
