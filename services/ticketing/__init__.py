"""Ticketing: tickets, their lifecycle, SLA clocks, work orders, audit and satisfaction."""
