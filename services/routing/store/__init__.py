"""Routing's tables and the queries on them, one module per kind of record."""
