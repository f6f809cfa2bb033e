"""Storage: an engine per service, the chassis tables, migrations and the unit of work."""
