"""Opaque page tokens for list calls: the client hands back what it got, never builds one."""

from __future__ import annotations

import base64
import json

from switchboard.errors import FieldViolation, InvalidArgument

DEFAULT_PAGE_SIZE = 50


def page_size(requested: int, maximum: int = 500) -> int:
    return min(requested or DEFAULT_PAGE_SIZE, maximum)


def encode(position: dict[str, str | int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode()


def decode(token: str, *, expected: set[str]) -> dict[str, str | int] | None:
    """The position in a token, or None for the first page; a forged or stale token is INVALID_ARGUMENT."""
    if not token:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, UnicodeDecodeError):
        position = None
    if not isinstance(position, dict) or set(position) != expected:
        raise _forged()
    return position


def integer_at(position: dict[str, str | int] | None, key: str, default: int = 0) -> int:
    """The non-negative integer a decoded token holds at key (default for the first page)."""
    if position is None:
        return default
    value = position[key]
    if type(value) is not int or value < 0:
        raise _forged()
    return value


def _forged() -> InvalidArgument:
    return InvalidArgument([FieldViolation("page_token", "not a token this list returned; start without one")])
