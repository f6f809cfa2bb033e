"""Datetimes to protobuf Timestamps and back, for the events and messages every service builds and reads."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp


def timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def moment(stamp: Timestamp) -> datetime:
    """The UTC-aware datetime a Timestamp holds."""
    return stamp.ToDatetime(tzinfo=UTC)
