"""Ticketing's service layer, one module per area."""
