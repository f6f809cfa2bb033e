"""Identifiers: time-ordered UUIDv7, so ids sort by creation and index well."""

from __future__ import annotations

import uuid6


def new_id() -> str:
    return str(uuid6.uuid7())
