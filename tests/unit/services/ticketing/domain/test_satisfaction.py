"""A rating: 1 to 5 with a comment, once a ticket is resolved, recorded by someone allowed to; a low
score opens a follow-up for the team."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.ticketing.domain import satisfaction
from services.ticketing.domain.lifecycle import Actor
from services.ticketing.domain.satisfaction import Rating
from services.ticketing.domain.tickets import OPEN_STATUSES, Status, Ticket, open_ticket
from switchboard.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from tests.unit.builders import new_ticket

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
PORTAL = Actor("survey-portal", frozenset({"integration"}))
AGENT = Actor("bob", frozenset({"agent"}))
SUPERVISOR = Actor("sam", frozenset({"supervisor"}))
ADMIN = Actor("root", frozenset({"admin"}))
TECHNICIAN = Actor("tom", frozenset({"technician"}))


def resolved_ticket(**overrides: object) -> Ticket:
    """T-000042: Alice of the appliances team repaired a leaking washing machine an hour ago."""
    ticket = open_ticket(
        new_ticket(asset_id="WM-7781", language="de"), ticket_id="0195a0c4-0000-7000-8000-000000000042", now=NOW
    )
    values: dict[str, object] = {
        "seq": 42,
        "status": Status.RESOLVED,
        "team": "appliances",
        "assignee": "alice",
        "category": "leak",
        "resolution_code": "repaired",
        "resolved_at": NOW - timedelta(hours=1),
    }
    values.update(overrides)
    return replace(ticket, **values)  # type: ignore[arg-type]


def test_a_rating_remembers_who_handled_the_ticket_and_who_recorded_it() -> None:
    rating = satisfaction.rate(resolved_ticket(), score=4, comment="  Quick and friendly.  ", actor=PORTAL, now=NOW)

    assert rating == Rating(
        ticket_id="0195a0c4-0000-7000-8000-000000000042",
        customer_id="C-1001",
        score=4,
        comment="Quick and friendly.",
        team="appliances",
        agent="alice",
        recorded_by="survey-portal",
        rated_at=NOW,
    )
    assert rating.good


def test_a_closed_ticket_that_was_resolved_can_be_rated() -> None:
    closed = resolved_ticket(status=Status.CLOSED, closed_at=NOW - timedelta(minutes=5))

    assert satisfaction.rate(closed, score=5, comment="", actor=PORTAL, now=NOW).score == 5


@pytest.mark.parametrize("status", sorted(OPEN_STATUSES | {Status.CANCELLED}), ids=str)
def test_a_ticket_that_is_not_resolved_cannot_be_rated(status: Status) -> None:
    ticket = resolved_ticket(status=status, resolved_at=None, resolution_code="")

    with pytest.raises(
        FailedPrecondition, match=f"T-000042 is {status.value}; a ticket can be rated once it is resolved"
    ):
        satisfaction.rate(ticket, score=3, comment="", actor=PORTAL, now=NOW)


def test_a_merged_duplicate_is_rated_on_the_ticket_it_went_into() -> None:
    duplicate = resolved_ticket(status=Status.CLOSED, merged_into="0195a0c4-0000-7000-8000-000000000007")

    with pytest.raises(FailedPrecondition, match="merged into ticket 0195a0c4-0000-7000-8000-000000000007"):
        satisfaction.rate(duplicate, score=1, comment="", actor=PORTAL, now=NOW)


@pytest.mark.parametrize("score", [0, 6, -1])
def test_a_score_outside_one_to_five_is_refused_naming_the_field(score: int) -> None:
    with pytest.raises(InvalidArgument, match=f"score: must be from 1 to 5, not {score}") as error:
        satisfaction.rate(resolved_ticket(), score=score, comment="", actor=PORTAL, now=NOW)

    assert [v.field for v in error.value.violations] == ["score"]


def test_a_comment_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="comment: must be at most 2000 characters, not 2001"):
        satisfaction.rate(resolved_ticket(), score=3, comment="x" * 2001, actor=PORTAL, now=NOW)


@pytest.mark.parametrize("actor", [PORTAL, AGENT, SUPERVISOR, ADMIN], ids=lambda a: a.id)
def test_the_survey_system_agents_supervisors_and_admins_may_record_a_rating(actor: Actor) -> None:
    assert satisfaction.rate(resolved_ticket(), score=5, comment="", actor=actor, now=NOW).recorded_by == actor.id


def test_a_technician_may_not_record_a_rating() -> None:
    with pytest.raises(PermissionDenied, match="needs one of the roles"):
        satisfaction.rate(resolved_ticket(), score=5, comment="", actor=TECHNICIAN, now=NOW)


@pytest.mark.parametrize("roles", [{"agent"}, {"supervisor"}])
def test_nobody_records_the_rating_of_a_ticket_they_handled(roles: set[str]) -> None:
    alice = Actor("alice", frozenset(roles))

    with pytest.raises(PermissionDenied, match="alice handled T-000042 and may not record its rating"):
        satisfaction.rate(resolved_ticket(), score=5, comment="", actor=alice, now=NOW)


@pytest.mark.parametrize(("score", "expected"), [(1, True), (2, True), (3, False), (4, False), (5, False)])
def test_a_score_of_two_or_less_needs_a_follow_up(score: int, expected: bool) -> None:
    rating = satisfaction.rate(resolved_ticket(), score=score, comment="", actor=PORTAL, now=NOW)

    assert satisfaction.needs_follow_up(rating) is expected


def test_the_follow_up_threshold_can_be_raised() -> None:
    rating = satisfaction.rate(resolved_ticket(), score=3, comment="", actor=PORTAL, now=NOW)

    assert satisfaction.needs_follow_up(rating, at_or_below=3)


def test_a_follow_up_goes_to_the_same_team_linked_to_the_rated_ticket_but_not_as_its_child() -> None:
    ticket = resolved_ticket()
    rating = satisfaction.rate(ticket, score=1, comment="Still leaking after the visit.", actor=PORTAL, now=NOW)

    new = satisfaction.follow_up(ticket, rating)

    assert (new.customer_id, new.asset_id, new.team, new.language) == ("C-1001", "WM-7781", "appliances", "de")
    assert new.subject == "Follow up: T-000042 was rated 1 of 5"
    assert new.description == "Still leaking after the visit."
    assert new.category == "satisfaction_follow_up"
    assert new.custom_fields == {"follow_up_of": "0195a0c4-0000-7000-8000-000000000042"}
    assert new.tags == ("satisfaction-follow-up", "rated:1")
    # A child would keep the rated ticket from closing until the call back is done.
    assert new.parent_id == ""
    assert new.watchers == ("alice",)
    assert (new.channel, new.created_by) == ("system_event", "system")


def test_the_unhappiest_customers_are_called_back_first() -> None:
    ticket = resolved_ticket()

    priorities = [
        satisfaction.follow_up(ticket, satisfaction.rate(ticket, score=s, comment="", actor=PORTAL, now=NOW)).priority
        for s in (1, 2, 3)
    ]

    assert priorities == [2, 3, 3]


def test_a_follow_up_without_a_comment_says_so_and_a_ticket_nobody_held_has_no_watchers() -> None:
    ticket = resolved_ticket(assignee="")
    rating = satisfaction.rate(ticket, score=2, comment="", actor=PORTAL, now=NOW)

    new = satisfaction.follow_up(ticket, rating)

    assert (new.description, new.watchers) == ("The customer left no comment.", ())
