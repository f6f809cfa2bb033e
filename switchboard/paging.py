"""Opaque page tokens for list calls: the client hands back what it got, never builds one."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import TypeVar

from switchboard.errors import FieldViolation, InvalidArgument

DEFAULT_PAGE_SIZE = 50
T = TypeVar("T")
Position = dict[str, str | int]


def page_size(requested: int, maximum: int = 500) -> int:
    return min(requested or DEFAULT_PAGE_SIZE, maximum)


def encode(position: Position) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode()


def decode(token: str, *, expected: set[str]) -> Position | None:
    """The position in a token, or None for the first page; a forged or stale token is INVALID_ARGUMENT."""
    if not token:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, UnicodeDecodeError):
        position = None
    if not isinstance(position, dict) or set(position) != expected:
        raise forged()
    return position


def integer_at(position: Position | None, key: str, default: int = 0) -> int:
    """The non-negative integer a decoded token holds at key (default for the first page)."""
    if position is None:
        return default
    value = position[key]
    if type(value) is not int or value < 0:
        raise forged()
    return value


def forged() -> InvalidArgument:
    return InvalidArgument([FieldViolation("page_token", "not a token this list returned; start without one")])


def text_at(position: Position | None, key: str, default: str = "") -> str:
    """The string a decoded token holds at key (default for the first page)."""
    if position is None:
        return default
    value = position[key]
    if not isinstance(value, str):
        raise forged()
    return value


def next_page(found: Sequence[T], limit: int, position_of: Callable[[T], Position]) -> tuple[Sequence[T], str]:
    """The page to answer from a query that fetched ``limit + 1`` rows, and the next page's token.

    The extra row only says whether another page follows; the token points after the last row shown.
    """
    if len(found) <= limit:
        return found, ""
    page = found[:limit]
    return page, encode(position_of(page[-1]))
