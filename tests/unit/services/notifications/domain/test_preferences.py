"""Preferences as specifications: quiet hours in the recipient's own zone (across daylight saving, both ways),
caps, the digest, and critical messages that nothing holds back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import pytest

from services.notifications.domain.preferences import (
    Cap,
    Preferences,
    QuietHours,
    channels_for,
    check_preferences,
    decide,
    quiet_until,
)
from switchboard.errors import InvalidArgument

BERLIN_NIGHTS = QuietHours(time(22), time(7), "Europe/Berlin")


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def nothing_sent(_seconds: int) -> int:
    return 0


def sent_at(*moments: datetime, now: datetime) -> Callable[[int], int]:
    """A ledger that holds sends at these moments: counts those within the last ``seconds`` before ``now``."""
    return lambda seconds: sum(1 for m in moments if now - timedelta(seconds=seconds) < m <= now)


def prefs(**kwargs: object) -> Preferences:
    return Preferences(recipient_id="alice", channels={}, **kwargs)  # type: ignore[arg-type]


# ---- quiet hours in the recipient's zone


def test_quiet_hours_spanning_midnight_end_at_the_local_morning_in_utc() -> None:
    # 25 November 2026: Berlin is UTC+1.
    assert quiet_until(BERLIN_NIGHTS, utc(2026, 11, 25, 21, 0)) == utc(2026, 11, 26, 6, 0)  # 22:00 local
    assert quiet_until(BERLIN_NIGHTS, utc(2026, 11, 26, 5, 59)) == utc(2026, 11, 26, 6, 0)  # 06:59 local
    assert quiet_until(BERLIN_NIGHTS, utc(2026, 11, 26, 6, 0)) is None  # 07:00 local: awake
    assert quiet_until(BERLIN_NIGHTS, utc(2026, 11, 25, 20, 59)) is None  # 21:59 local


def test_the_same_moment_is_quiet_in_shanghai_and_not_in_new_york() -> None:
    shanghai = QuietHours(time(22), time(7), "Asia/Shanghai")
    new_york = QuietHours(time(22), time(7), "America/New_York")
    moment = utc(2026, 11, 25, 15, 0)  # 23:00 in Shanghai, 10:00 in New York
    assert quiet_until(shanghai, moment) == utc(2026, 11, 25, 23, 0)  # 07:00 in Shanghai (UTC+8)
    assert quiet_until(new_york, moment) is None
    later = utc(2026, 11, 26, 4, 0)  # 12:00 in Shanghai, 23:00 in New York
    assert quiet_until(shanghai, later) is None
    assert quiet_until(new_york, later) == utc(2026, 11, 26, 12, 0)  # 07:00 EST (UTC-5)


def test_a_night_across_the_spring_change_is_an_hour_shorter_and_ends_at_local_seven() -> None:
    # Berlin springs forward on 29 March 2026 at 02:00 (UTC+1 → UTC+2).
    assert quiet_until(BERLIN_NIGHTS, utc(2026, 3, 28, 21, 0)) == utc(2026, 3, 29, 5, 0)  # 07:00 CEST
    assert quiet_until(BERLIN_NIGHTS, utc(2026, 3, 29, 4, 59)) == utc(2026, 3, 29, 5, 0)
    assert quiet_until(BERLIN_NIGHTS, utc(2026, 3, 29, 5, 0)) is None


def test_a_night_across_the_autumn_change_is_an_hour_longer_and_ends_at_local_seven() -> None:
    # Berlin falls back on 25 October 2026 at 03:00 (UTC+2 → UTC+1).
    assert quiet_until(BERLIN_NIGHTS, utc(2026, 10, 24, 20, 0)) == utc(2026, 10, 25, 6, 0)  # 22:00 CEST → 07:00 CET
    assert quiet_until(BERLIN_NIGHTS, utc(2026, 10, 24, 19, 59)) is None


def test_a_boundary_the_spring_change_skips_falls_at_the_jump() -> None:
    # 02:30 does not exist in Berlin on 29 March 2026: clocks go from 02:00 (00:59:59 UTC) to 03:00 (01:00 UTC).
    early = QuietHours(time(2, 30), time(6), "Europe/Berlin")
    assert quiet_until(early, utc(2026, 3, 29, 0, 59)) is None  # 01:59 local: not yet
    assert quiet_until(early, utc(2026, 3, 29, 1, 0)) == utc(2026, 3, 29, 4, 0)  # 03:00 local: past 02:30
    ending = QuietHours(time(22), time(2, 30), "Europe/Berlin")
    assert quiet_until(ending, utc(2026, 3, 28, 23, 0)) == utc(2026, 3, 29, 1, 0)  # ends at the jump
    assert quiet_until(ending, utc(2026, 3, 29, 1, 0)) is None


def test_a_boundary_the_autumn_change_repeats_keeps_quiet_until_its_second_occurrence() -> None:
    # 02:30 happens twice in Berlin on 25 October 2026: 00:30 UTC (CEST) and 01:30 UTC (CET).
    ending = QuietHours(time(22), time(2, 30), "Europe/Berlin")
    assert quiet_until(ending, utc(2026, 10, 24, 23, 0)) == utc(2026, 10, 25, 1, 30)
    assert quiet_until(ending, utc(2026, 10, 25, 0, 45)) == utc(2026, 10, 25, 1, 30)  # 02:15 the first time
    assert quiet_until(ending, utc(2026, 10, 25, 1, 30)) is None
    starting = QuietHours(time(2, 30), time(6), "Europe/Berlin")
    assert quiet_until(starting, utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 25, 5, 0)  # from the first 02:30


def test_new_york_changes_on_its_own_date() -> None:
    # New York springs forward on 8 March 2026, three weeks before Berlin.
    new_york = QuietHours(time(22), time(7), "America/New_York")
    assert quiet_until(new_york, utc(2026, 3, 8, 3, 0)) == utc(2026, 3, 8, 11, 0)  # 07:00 EDT (UTC-4)
    assert quiet_until(new_york, utc(2026, 3, 7, 3, 0)) == utc(2026, 3, 7, 12, 0)  # 07:00 EST (UTC-5)


def test_quiet_hours_within_one_day() -> None:
    lunch = QuietHours(time(12), time(13), "Asia/Shanghai")
    assert quiet_until(lunch, utc(2026, 11, 25, 4, 30)) == utc(2026, 11, 25, 5, 0)
    assert quiet_until(lunch, utc(2026, 11, 25, 5, 0)) is None


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        quiet_until(BERLIN_NIGHTS, datetime(2026, 11, 25, 23, 0))


# ---- decisions


def test_critical_goes_through_quiet_hours_caps_and_digests() -> None:
    strict = prefs(
        quiet_hours=BERLIN_NIGHTS, caps={"*": Cap(1, 3600)}, digest_priorities=frozenset({"low", "normal", "high"})
    )
    decision = decide(
        strict,
        priority="critical",
        category="sla",
        now=utc(2026, 11, 25, 23, 0),
        sent_in_window=lambda _s: 99,
        last_digest_at=None,
    )
    assert decision.action == "send"


def test_quiet_hours_defer_to_their_end_and_say_so_in_local_time() -> None:
    decision = decide(
        prefs(quiet_hours=BERLIN_NIGHTS),
        priority="high",
        category="sla",
        now=utc(2026, 11, 25, 23, 0),
        sent_in_window=nothing_sent,
        last_digest_at=None,
    )
    assert decision.action == "defer"
    assert decision.at == utc(2026, 11, 26, 6, 0)
    assert decision.reason == "quiet hours until 07:00 Europe/Berlin"


def test_outside_quiet_hours_a_message_is_sent() -> None:
    decision = decide(
        prefs(quiet_hours=BERLIN_NIGHTS),
        priority="normal",
        category="visits",
        now=utc(2026, 11, 25, 12, 0),
        sent_in_window=nothing_sent,
        last_digest_at=None,
    )
    assert decision.action == "send"
    assert decision.at is None


def test_a_reached_cap_suppresses_a_normal_message_with_the_reason() -> None:
    now = utc(2026, 11, 25, 12, 0)
    ledger = sent_at(*(now - timedelta(minutes=m) for m in (5, 10, 20)), now=now)
    capped = prefs(caps={"visits": Cap(3, 3600)})
    decision = decide(capped, priority="normal", category="visits", now=now, sent_in_window=ledger, last_digest_at=None)
    assert decision.action == "suppress"
    assert decision.reason == "cap of 3 per hour reached for visits"
    # Under the cap, it goes.
    lighter = sent_at(now - timedelta(minutes=5), now - timedelta(minutes=70), now=now)
    decision = decide(
        capped, priority="normal", category="visits", now=now, sent_in_window=lighter, last_digest_at=None
    )
    assert decision.action == "send"


def test_a_reached_cap_defers_a_high_message_to_when_the_window_frees_a_slot() -> None:
    now = utc(2026, 11, 25, 12, 0)
    # Sent 50, 30 and 10 minutes ago; with 3 per hour, the oldest leaves the window in 10 minutes.
    ledger = sent_at(*(now - timedelta(minutes=m) for m in (50, 30, 10)), now=now)
    decision = decide(
        prefs(caps={"*": Cap(3, 3600)}),
        priority="high",
        category="sla",
        now=now,
        sent_in_window=ledger,
        last_digest_at=None,
    )
    assert decision.action == "defer"
    assert decision.at is not None
    assert now + timedelta(minutes=10) <= decision.at <= now + timedelta(minutes=10, seconds=2)
    assert decision.reason.startswith("cap of 3 per hour reached; a slot frees at 12:10 UTC")


def test_a_category_cap_wins_over_the_default_cap() -> None:
    now = utc(2026, 11, 25, 12, 0)
    two_sent = sent_at(now - timedelta(minutes=1), now - timedelta(minutes=2), now=now)
    caps = {"*": Cap(2, 3600), "sla": Cap(10, 3600)}
    assert (
        decide(
            prefs(caps=caps), priority="normal", category="sla", now=now, sent_in_window=two_sent, last_digest_at=None
        ).action
        == "send"
    )
    assert (
        decide(
            prefs(caps=caps),
            priority="normal",
            category="visits",
            now=now,
            sent_in_window=two_sent,
            last_digest_at=None,
        ).action
        == "suppress"
    )


def test_low_priority_waits_for_the_next_digest() -> None:
    now = utc(2026, 11, 25, 12, 0)
    every_four_hours = prefs()
    decision = decide(
        every_four_hours,
        priority="low",
        category="surveys",
        now=now,
        sent_in_window=nothing_sent,
        last_digest_at=now - timedelta(hours=1),
    )
    assert decision.action == "digest"
    assert decision.at == now + timedelta(hours=3)


def test_the_first_digest_or_one_overdue_goes_now() -> None:
    now = utc(2026, 11, 25, 12, 0)
    for last in (None, now - timedelta(hours=9)):
        decision = decide(
            prefs(), priority="low", category="surveys", now=now, sent_in_window=nothing_sent, last_digest_at=last
        )
        assert (decision.action, decision.at) == ("digest", now)


def test_a_digest_due_in_quiet_hours_waits_for_their_end() -> None:
    now = utc(2026, 11, 25, 19, 0)  # 20:00 in Berlin; the next digest at 22:30 local is in quiet hours
    decision = decide(
        prefs(quiet_hours=BERLIN_NIGHTS, digest_every=timedelta(hours=4)),
        priority="low",
        category="surveys",
        now=now,
        sent_in_window=nothing_sent,
        last_digest_at=now - timedelta(hours=1, minutes=30),
    )
    assert decision.action == "digest"
    assert decision.at == utc(2026, 11, 26, 6, 0)
    assert "07:00 Europe/Berlin" in decision.reason


def test_no_preferences_means_defaults_normal_goes_and_low_waits_for_a_digest() -> None:
    now = utc(2026, 11, 25, 3, 0)
    assert (
        decide(None, priority="normal", category="x", now=now, sent_in_window=nothing_sent, last_digest_at=None).action
        == "send"
    )
    assert (
        decide(None, priority="low", category="x", now=now, sent_in_window=nothing_sent, last_digest_at=None).action
        == "digest"
    )


# ---- channels


def test_channels_come_from_the_category_then_the_default_then_the_rule() -> None:
    mine = Preferences("alice", channels={"sla": ("chat", "email"), "*": ("email",), "surveys": ()})
    assert channels_for(mine, "sla", ("console",)) == ("chat", "email")
    assert channels_for(mine, "visits", ("console",)) == ("email",)
    assert channels_for(mine, "surveys", ("email", "sms")) == ()  # opted out
    assert channels_for(Preferences("bob", channels={}), "sla", ("console", "email")) == ("console", "email")
    assert channels_for(None, "sla", ("console",)) == ("console",)


# ---- checked when stored


def test_preferences_that_cannot_work_are_refused_naming_the_field() -> None:
    broken = Preferences(
        "alice",
        channels={"sla": ("pigeon",)},
        quiet_hours=QuietHours(time(7), time(7), "Mars/Olympus_Mons"),
        caps={"*": Cap(0, 3600)},
        digest_priorities=frozenset({"critical"}),
        digest_every=timedelta(0),
    )
    with pytest.raises(InvalidArgument) as refused:
        check_preferences(broken, known_channels={"console", "email", "sms"})
    fields = {v.field for v in refused.value.violations}
    assert fields == {
        "preferences.quiet_hours.time_zone",
        "preferences.quiet_hours",
        "preferences.caps[*].max_count",
        "preferences.digest_priorities",
        "preferences.digest_every",
        "preferences.channels[sla]",
    }
    check_preferences(prefs(quiet_hours=BERLIN_NIGHTS, caps={"*": Cap(5, 3600)}))
