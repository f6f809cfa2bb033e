"""Routing's use cases, each inside a unit of work its caller commits, and the matcher that runs the engine."""
