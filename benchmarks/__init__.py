"""Benchmarks of itc-lab, run from the project folder as modules: ``./run bench`` runs
``python -m benchmarks.bench``; the others are ``python -m benchmarks.<name>``."""
