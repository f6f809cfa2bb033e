"""What a ticket is when opened, the number people read out, and how a device fault becomes a ticket."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.ticketing.domain import tickets
from services.ticketing.domain.tickets import NewTicket, Status
from switchboard import enums
from tests.unit.builders import new_ticket

TICKET_ID = "0195a0c4-7d1e-7f00-8000-000000000001"
NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
FAULT_EVENT_ID = "0195a0c4-7d1e-7f00-8000-00000000e021"


def _new(**overrides: object) -> NewTicket:
    return new_ticket(**overrides)


def _from_fault(**overrides: str) -> NewTicket:
    values = {
        "asset_id": "WM-7781",
        "customer_id": "C-1001",
        "fault_code": "E21",
        "description": "Drain pump blocked; water on the floor",
        "event_id": FAULT_EVENT_ID,
    }
    values.update(overrides)
    return tickets.from_device_fault(**values)


def test_seq_of_reads_the_largest_number_a_ticket_can_have() -> None:
    assert tickets.seq_of("T-" + "9" * 18) == 999_999_999_999_999_999


def test_seq_of_rejects_a_number_too_large_for_any_tickets_sequence() -> None:
    assert tickets.seq_of("T-" + "9" * 19) is None


def test_a_ticket_number_is_t_and_six_digits() -> None:
    assert tickets.number_for(123) == "T-000123"


def test_a_number_grows_past_six_digits_instead_of_wrapping() -> None:
    assert tickets.number_for(1_234_567) == "T-1234567"


@pytest.mark.parametrize("seq", [1, 123, 999_999, 1_234_567])
def test_seq_of_reads_back_the_sequence_a_number_was_made_from(seq: int) -> None:
    assert tickets.seq_of(tickets.number_for(seq)) == seq


@pytest.mark.parametrize("number", ["T-12", "X-000001", "t-000001", "T-00012a", "T000123", "", "T-"])
def test_seq_of_rejects_what_is_not_a_ticket_number(number: str) -> None:
    assert tickets.seq_of(number) is None


def test_an_opened_ticket_is_new_at_version_one_without_a_number_yet() -> None:
    ticket = tickets.open_ticket(_new(), ticket_id=TICKET_ID, now=NOW)

    assert ticket.status is Status.NEW
    assert ticket.version == 1
    assert ticket.seq == 0
    assert (ticket.ticket_id, ticket.created_at) == (TICKET_ID, NOW)


def test_an_opened_ticket_without_a_priority_gets_p3() -> None:
    assert tickets.open_ticket(_new(priority=None), ticket_id=TICKET_ID, now=NOW).priority == 3


def test_an_opened_ticket_keeps_the_priority_asked_for() -> None:
    assert tickets.open_ticket(_new(priority=1), ticket_id=TICKET_ID, now=NOW).priority == 1


def test_an_opened_ticket_keeps_what_was_asked() -> None:
    new = _new(
        asset_id="WM-7781",
        description="Water under the machine after each wash",
        required_skills=("washing-machines", "plumbing"),
        language="de",
        tags=("warranty",),
    )

    ticket = tickets.open_ticket(new, ticket_id=TICKET_ID, now=NOW)

    assert (ticket.customer_id, ticket.asset_id, ticket.channel, ticket.subject) == (
        "C-1001",
        "WM-7781",
        "phone",
        "Washing machine leaks",
    )
    assert ticket.description == "Water under the machine after each wash"
    assert ticket.required_skills == ("washing-machines", "plumbing")
    assert (ticket.language, ticket.tags, ticket.created_by) == ("de", ("warranty",), "alice")


def test_a_numbered_ticket_reads_out_its_number() -> None:
    ticket = tickets.numbered(tickets.open_ticket(_new(), ticket_id=TICKET_ID, now=NOW), 42)

    assert ticket.number == "T-000042"


def test_a_device_fault_becomes_a_ticket_naming_the_fault_and_the_device() -> None:
    new = _from_fault()

    assert new.subject == "Fault E21 reported by WM-7781"
    assert (new.customer_id, new.asset_id) == ("C-1001", "WM-7781")
    assert new.description == "Drain pump blocked; water on the floor"


def test_a_device_fault_ticket_comes_in_on_the_system_event_channel_at_p2() -> None:
    new = _from_fault()

    assert new.channel == "system_event"
    assert new.priority == 2


def test_a_device_fault_ticket_is_tagged_with_the_fault_code() -> None:
    assert _from_fault().tags == ("device-fault", "fault-code:E21")


def test_a_device_fault_ticket_is_created_by_the_event() -> None:
    assert _from_fault().created_by == f"event:{FAULT_EVENT_ID}"


def test_a_device_fault_with_the_longest_valid_asset_id_and_fault_code_fits_the_subject() -> None:
    new = _from_fault(asset_id="WM-" + "7" * 125, fault_code="E" * 64)

    assert len(new.subject) <= 200


def test_the_domains_channels_and_tiers_are_the_ones_the_protos_define() -> None:
    assert tickets.CHANNELS == enums.CHANNELS
    assert tickets.TIERS == enums.TIERS
