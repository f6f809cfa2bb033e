"""Properties of the detectors over random event streams: the state round-trips through its JSON text,
judgement is deterministic, and a customer who keeps to their habits is almost never flagged."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.customer360.domain.anomaly import KINDS, Baselines, DetectorConfig, Observation, observe

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = DetectorConfig()

observations = st.builds(
    lambda kind, metric, value, minutes, n, asset, currency: Observation(
        kind=kind,
        metric=metric,
        value=value,
        at=T0 + timedelta(minutes=minutes),
        event_id=f"e{n}",
        event_type="account.transaction",
        asset_id=asset if kind == "repeated_fault" else "",
        currency=currency if kind == "amount" else "",
    ),
    st.sampled_from(KINDS),
    st.sampled_from(["account.transaction:withdrawal", "order.placed", "ticket.created"]),
    st.floats(1, 1e9),
    # Mostly forwards in time, now and then a late arrival.
    st.integers(-3_000, 400_000),
    st.integers(0, 10**6),
    st.sampled_from(["SN-1", "SN-2"]),
    st.sampled_from(["EUR", "USD"]),
)


def feed(stream: list[Observation]) -> tuple[Baselines, int]:
    state, found = Baselines.empty(), 0
    for observation in stream:
        state, findings = observe(state, observation, CONFIG)
        found += len(findings)
    return state, found


@settings(max_examples=60, deadline=None)
@given(st.lists(observations, max_size=60))
def test_the_baselines_survive_their_json_text_unchanged(stream: list[Observation]) -> None:
    stream.sort(key=lambda o: o.at)
    state, _ = feed(stream)

    text = state.to_json()

    assert Baselines.from_json(text) == state
    assert Baselines.from_json(text).to_json() == text


@settings(max_examples=40, deadline=None)
@given(st.lists(observations, min_size=1, max_size=40))
def test_judging_is_deterministic_and_leaves_the_given_state_as_it_was(stream: list[Observation]) -> None:
    state, _ = feed(stream[:-1])
    before = state.to_json()

    first = observe(state, stream[-1], CONFIG)
    second = observe(Baselines.from_json(before), stream[-1], CONFIG)

    assert first == second
    assert state.to_json() == before


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    median=st.floats(2_000, 500_000),
    sigma=st.floats(0.05, 0.8),
    per_day=st.floats(0.1, 3.0),
)
def test_a_customer_keeping_to_their_habits_is_almost_never_flagged(
    seed: int, median: float, sigma: float, per_day: float
) -> None:
    rng = random.Random(seed)
    stream, when = [], T0
    for n in range(300):
        when += timedelta(days=rng.expovariate(per_day))
        amount = round(median * math.exp(rng.gauss(0, sigma)))
        metric, kind = "account.transaction:purchase", "account.transaction"
        stream.append(Observation("amount", metric, amount, when, f"e{n}", kind, currency="EUR"))
        stream.append(Observation("frequency", metric, 1.0, when, f"e{n}", kind))

    _, found = feed(stream)

    assert found <= 3  # of 600 observations
