"""Names for the shared proto enums, as stored and shown: "phone", not CHANNEL_PHONE."""

from __future__ import annotations

from switchboard.common.v1 import common_pb2


def channel_name(value: int) -> str:
    return common_pb2.Channel.Name(value).removeprefix("CHANNEL_").lower()  # type: ignore[arg-type]


def channel_value(name: str) -> common_pb2.Channel.ValueType:
    return common_pb2.Channel.Value(f"CHANNEL_{name.upper()}")


CHANNELS = tuple(channel_name(v) for v in common_pb2.Channel.values() if v)


def tier_name(value: int) -> str:
    """ "gold" for CUSTOMER_TIER_GOLD; "" for unspecified (customer360 has not said)."""
    if not value:
        return ""
    return common_pb2.CustomerTier.Name(value).removeprefix("CUSTOMER_TIER_").lower()  # type: ignore[arg-type]


def tier_value(name: str) -> common_pb2.CustomerTier.ValueType:
    return (
        common_pb2.CustomerTier.Value(f"CUSTOMER_TIER_{name.upper()}") if name else common_pb2.CUSTOMER_TIER_UNSPECIFIED
    )


TIERS = tuple(tier_name(v) for v in common_pb2.CustomerTier.values() if v)
