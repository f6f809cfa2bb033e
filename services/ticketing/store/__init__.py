"""Ticketing's tables and queries, one module per area; all of them share one MetaData."""
