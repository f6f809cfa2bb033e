"""Benchmarks of the running suite; ``make bench`` runs ``python -m bench``."""
