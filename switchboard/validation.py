"""Protovalidate rules declared in the protos, turned into field violations that name the field."""

from __future__ import annotations

import protovalidate
from google.protobuf.message import Message

from switchboard.errors import FieldViolation, InvalidArgument


def _path(violation: protovalidate.Violation) -> str:
    parts: list[str] = []
    path = violation.proto.field
    for element in path.elements if path is not None else []:
        name = element.field_name
        subscript = element.subscript
        if subscript is not None:
            parts.append(
                f"{name}[{subscript.value!r}]" if isinstance(subscript.value, str) else f"{name}[{subscript.value}]"
            )
        else:
            parts.append(name)
    return ".".join(parts)


def violations(message: Message) -> list[FieldViolation]:
    return [
        FieldViolation(field=_path(v), description=f"{v.proto.message} ({v.proto.rule_id})")
        for v in protovalidate.collect_violations(message)
    ]


def check(message: Message) -> None:
    """Raise InvalidArgument naming every field that breaks its declared rules."""
    found = violations(message)
    if found:
        raise InvalidArgument(found)
