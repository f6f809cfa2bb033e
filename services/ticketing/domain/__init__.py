"""Ticketing's pure logic: no I/O, no framework."""
