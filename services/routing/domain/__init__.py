"""Routing's pure logic: no I/O, no framework."""
