"""Names for the shared proto enums, as stored and shown: "phone", not CHANNEL_PHONE."""

from __future__ import annotations

from switchboard.common.v1 import common_pb2


def channel_name(value: int) -> str:
    return common_pb2.Channel.Name(value).removeprefix("CHANNEL_").lower()  # type: ignore[arg-type]


def channel_value(name: str) -> common_pb2.Channel.ValueType:
    return common_pb2.Channel.Value(f"CHANNEL_{name.upper()}")


CHANNELS = tuple(channel_name(v) for v in common_pb2.Channel.values() if v)
