"""A discrete-event call centre that drives the routing engine in simulated time (python -m bench routing)."""
