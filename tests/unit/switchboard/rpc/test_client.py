"""Outgoing calls carry the token and correlation id, and never outlive the call being served."""

from __future__ import annotations

import time

from switchboard import context
from switchboard.rpc import client


def test_an_outgoing_call_gets_no_more_time_than_the_call_being_served() -> None:
    served = context.WorkContext("corr-1", "corr-1", context.SYSTEM, deadline=time.monotonic() + 2.0)

    with context.working(served):
        allowed = client.timeout(10.0)

    assert 1.5 < allowed <= 2.0


def test_outside_a_served_call_the_default_deadline_applies() -> None:
    assert client.timeout(10.0) == 10.0


def test_a_deadline_already_past_leaves_no_time() -> None:
    served = context.WorkContext("corr-1", "corr-1", context.SYSTEM, deadline=time.monotonic() - 1.0)

    with context.working(served):
        assert client.timeout(10.0) == 0.0


def test_outgoing_metadata_carries_the_correlation_id_and_the_bearer_token() -> None:
    served = context.WorkContext("corr-42", "corr-42", context.SYSTEM, deadline=None)

    with context.working(served):
        metadata = dict(client.metadata("tok-123"))

    assert metadata == {"x-correlation-id": "corr-42", "authorization": "Bearer tok-123"}
