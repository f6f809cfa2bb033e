"""Priorities, most urgent first; the names preferences, rules and the API share."""

from __future__ import annotations

PRIORITIES = ("critical", "high", "normal", "low")
