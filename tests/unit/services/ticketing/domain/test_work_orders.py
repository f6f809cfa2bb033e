"""The work order state machine, exhaustively: every pair of statuses, every kind of caller, and
what each move needs; and the parts arithmetic a visit's end relies on."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.ticketing.domain import parts, work_orders
from services.ticketing.domain.lifecycle import Actor
from services.ticketing.domain.parts import Draw, LocationKind, PartLine, PartUse, StockLevel, StockLocation
from services.ticketing.domain.work_orders import NewWorkOrder, WorkOrder, WorkOrderStatus
from switchboard.errors import FailedPrecondition, InvalidArgument, PermissionDenied

S = WorkOrderStatus
NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
MORNING = (datetime(2025, 3, 17, 8, 0, tzinfo=UTC), datetime(2025, 3, 17, 12, 0, tzinfo=UTC))
AFTERNOON = (datetime(2025, 3, 18, 13, 0, tzinfo=UTC), datetime(2025, 3, 18, 17, 0, tzinfo=UTC))

AGENT = Actor("alice", frozenset({"agent"}))
SUPERVISOR = Actor("sam", frozenset({"supervisor"}))
ADMIN = Actor("root", frozenset({"admin"}))
SYSTEM = Actor("system", frozenset({"system"}))
TECHNICIAN = Actor("tom", frozenset({"technician"}))
OTHER_TECHNICIAN = Actor("tina", frozenset({"technician"}))
INTEGRATION = Actor("shop", frozenset({"integration"}))
EVERYONE = {
    "agent": AGENT,
    "supervisor": SUPERVISOR,
    "admin": ADMIN,
    "system": SYSTEM,
    "assigned technician": TECHNICIAN,
    "other technician": OTHER_TECHNICIAN,
    "integration": INTEGRATION,
}

# The specification, written out rather than read from the module under test.
ALLOWED = {
    (S.OPEN, S.SCHEDULED),
    (S.SCHEDULED, S.SCHEDULED),
    (S.NEEDS_REVISIT, S.SCHEDULED),
    (S.SCHEDULED, S.EN_ROUTE),
    (S.EN_ROUTE, S.ON_SITE),
    (S.ON_SITE, S.COMPLETED),
    (S.ON_SITE, S.NEEDS_REVISIT),
    (S.OPEN, S.CANCELLED),
    (S.SCHEDULED, S.CANCELLED),
    (S.EN_ROUTE, S.CANCELLED),
    (S.ON_SITE, S.CANCELLED),
    (S.NEEDS_REVISIT, S.CANCELLED),
}
DESK_MOVES = {S.SCHEDULED, S.CANCELLED}
MAY_PLAN = {"agent", "supervisor", "admin", "system"}
MAY_WORK = {"assigned technician", "supervisor", "admin", "system"}


def _work_order(status: WorkOrderStatus = S.OPEN, **overrides: object) -> WorkOrder:
    """A work order in a status, with everything that status implies (a technician once scheduled)."""
    values: dict[str, object] = {
        "work_order_id": "0195a0c4-7d1e-7f00-8000-00000000a001",
        "ticket_id": "0195a0c4-7d1e-7f00-8000-000000000001",
        "customer_id": "C-1001",
        "status": status,
        "required_skills": ("washing-machines",),
        "site_address": "Hauptstrasse 5, 10115 Berlin",
        "latitude": 52.53,
        "longitude": 13.38,
        "window_start": MORNING[0],
        "window_end": MORNING[1],
        "estimated_minutes": 90,
        "parts_needed": (PartLine("PUMP-200", 1),),
        "created_by": "alice",
        "created_at": NOW,
        "version": 3,
    }
    if status is not S.OPEN:
        values.update(technician_id="tom", stock_location_id="van-tom")
    values.update(overrides)
    return WorkOrder(**values)  # type: ignore[arg-type]


def _ready(status: WorkOrderStatus) -> WorkOrder:
    """A work order in ``status`` that meets every need of every move out of it."""
    return _work_order(status, labour_minutes=75, signed_off_by="Erika Mustermann", signed_off_at=NOW)


def _apply(work_order: WorkOrder, target: WorkOrderStatus, actor: Actor) -> WorkOrder:
    """Make the move through the domain function that makes it, giving everything it needs."""
    if target is S.SCHEDULED:
        return work_orders.scheduled(
            work_order,
            actor,
            technician_id="tom",
            window_start=AFTERNOON[0],
            window_end=AFTERNOON[1],
            stock_location_id="van-tom",
            now=NOW,
        )
    if target is S.COMPLETED:
        return work_orders.completed(work_order, actor, now=NOW)
    if target is S.CANCELLED:
        return work_orders.cancelled(work_order, actor, reason="customer repaired it", now=NOW)
    return work_orders.moved(work_order, target, actor, note="drain pump seized; needs a new one", now=NOW)


ALL_PAIRS = list(itertools.product(WorkOrderStatus, WorkOrderStatus))


@pytest.mark.parametrize(("source", "target"), sorted(ALLOWED))
def test_an_allowed_move_lands_in_the_target_status(source: WorkOrderStatus, target: WorkOrderStatus) -> None:
    actor = SUPERVISOR

    moved = _apply(_ready(source), target, actor)

    assert moved.status is target
    assert moved.updated_at == NOW


@pytest.mark.parametrize(("source", "target"), [p for p in ALL_PAIRS if p not in ALLOWED])
def test_a_move_not_in_the_table_is_refused_for_everyone_naming_both_statuses(
    source: WorkOrderStatus, target: WorkOrderStatus
) -> None:
    for actor in (ADMIN, SUPERVISOR, AGENT, TECHNICIAN):
        with pytest.raises(FailedPrecondition, match=f"cannot go from {source.value} to {target.value}"):
            work_orders.check(_ready(source), target, actor, technician_id="tom", note="a reason")


def test_the_table_is_exactly_the_specification() -> None:
    assert set(work_orders.TRANSITIONS) == ALLOWED


@pytest.mark.parametrize("status", [S.COMPLETED, S.CANCELLED])
def test_a_finished_work_order_says_it_can_go_nowhere(status: WorkOrderStatus) -> None:
    with pytest.raises(FailedPrecondition, match="it can go to nowhere: it is finished"):
        work_orders.rule_for(status, S.SCHEDULED)


def test_a_refusal_lists_where_the_work_order_can_go() -> None:
    with pytest.raises(FailedPrecondition, match="from scheduled it can go to cancelled, en_route, scheduled"):
        work_orders.rule_for(S.SCHEDULED, S.COMPLETED)


@pytest.mark.parametrize(
    ("source", "target", "who"),
    [(s, t, who) for (s, t) in sorted(ALLOWED) for who in sorted(EVERYONE)],
)
def test_who_may_make_each_allowed_move(source: WorkOrderStatus, target: WorkOrderStatus, who: str) -> None:
    allowed = MAY_PLAN if target in DESK_MOVES else MAY_WORK

    if who in allowed:
        assert _apply(_ready(source), target, EVERYONE[who]).status is target
    else:
        with pytest.raises(PermissionDenied):
            _apply(_ready(source), target, EVERYONE[who])


def test_another_technician_is_told_the_work_order_is_not_theirs() -> None:
    with pytest.raises(PermissionDenied, match="is not assigned to tina"):
        work_orders.moved(_ready(S.SCHEDULED), S.EN_ROUTE, OTHER_TECHNICIAN, now=NOW)


def test_a_technician_who_is_also_an_agent_may_plan() -> None:
    both = Actor("tom", frozenset({"technician", "agent"}))

    assert _apply(_ready(S.OPEN), S.SCHEDULED, both).status is S.SCHEDULED


# -- what each move needs ------------------------------------------------------------------------


def test_completing_without_the_customers_sign_off_is_refused() -> None:
    on_site = _work_order(S.ON_SITE, labour_minutes=75)

    with pytest.raises(FailedPrecondition, match="no customer sign-off"):
        work_orders.completed(on_site, TECHNICIAN, now=NOW)


def test_completing_without_labour_logged_is_refused() -> None:
    on_site = _work_order(S.ON_SITE, signed_off_by="Erika Mustermann")

    with pytest.raises(FailedPrecondition, match="no labour logged"):
        work_orders.completed(on_site, TECHNICIAN, now=NOW)


def test_a_completed_work_order_records_when() -> None:
    done = work_orders.completed(_ready(S.ON_SITE), TECHNICIAN, now=NOW)

    assert (done.status, done.completed_at) == (S.COMPLETED, NOW)


@pytest.mark.parametrize("note", ["", "   "])
def test_needing_a_revisit_without_a_reason_is_refused(note: str) -> None:
    with pytest.raises(FailedPrecondition, match="needs a reason"):
        work_orders.moved(_ready(S.ON_SITE), S.NEEDS_REVISIT, TECHNICIAN, note=note, now=NOW)


def test_cancelling_without_a_reason_is_refused() -> None:
    with pytest.raises(FailedPrecondition, match="needs a reason"):
        work_orders.cancelled(_ready(S.SCHEDULED), AGENT, reason="", now=NOW)


def test_a_cancelled_work_order_keeps_its_reason_and_time() -> None:
    cancelled = work_orders.cancelled(_ready(S.SCHEDULED), AGENT, reason="customer bought a new machine", now=NOW)

    assert (cancelled.note, cancelled.cancelled_at) == ("customer bought a new machine", NOW)


def test_scheduling_without_a_technician_names_the_field() -> None:
    with pytest.raises(InvalidArgument) as refused:
        work_orders.scheduled(
            _work_order(),
            AGENT,
            technician_id="",
            window_start=AFTERNOON[0],
            window_end=AFTERNOON[1],
            stock_location_id="depot-berlin",
            now=NOW,
        )

    assert [v.field for v in refused.value.violations] == ["technician_id"]


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [
        (AFTERNOON[1], AFTERNOON[0], "must be after window_start"),
        (NOW - timedelta(hours=4), NOW - timedelta(hours=1), "the window is over already"),
        (AFTERNOON[0], AFTERNOON[0] + timedelta(minutes=60), "the window is 60 minutes; the visit needs 90"),
    ],
)
def test_a_visit_window_must_be_ahead_and_fit_the_visit(start: datetime, end: datetime, problem: str) -> None:
    with pytest.raises(InvalidArgument, match=problem):
        work_orders.scheduled(
            _work_order(),
            AGENT,
            technician_id="tom",
            window_start=start,
            window_end=end,
            stock_location_id="van-tom",
            now=NOW,
        )


def test_a_visit_that_needs_parts_must_name_where_they_come_from() -> None:
    with pytest.raises(InvalidArgument, match="name the van or depot"):
        work_orders.scheduled(
            _work_order(),
            AGENT,
            technician_id="tom",
            window_start=AFTERNOON[0],
            window_end=AFTERNOON[1],
            stock_location_id="",
            now=NOW,
        )


def test_a_visit_that_needs_no_parts_needs_no_stock_location() -> None:
    booked = work_orders.scheduled(
        _work_order(parts_needed=()),
        AGENT,
        technician_id="tom",
        window_start=AFTERNOON[0],
        window_end=AFTERNOON[1],
        stock_location_id="",
        now=NOW,
    )

    assert (booked.status, booked.technician_id, booked.stock_location_id) == (S.SCHEDULED, "tom", "")


def test_booking_the_next_visit_forgets_the_last_visits_sign_off_and_missing_parts_but_keeps_labour() -> None:
    revisit = _work_order(
        S.NEEDS_REVISIT,
        labour_minutes=40,
        signed_off_by="Erika Mustermann",
        signed_off_at=NOW,
        missing_parts=(PartLine("HOSE-12", 1),),
        note="hose cracked",
    )

    booked = work_orders.scheduled(
        revisit,
        SUPERVISOR,
        technician_id="tina",
        window_start=AFTERNOON[0],
        window_end=AFTERNOON[1],
        stock_location_id="depot-berlin",
        now=NOW,
    )

    assert (booked.technician_id, booked.window_start, booked.window_end) == ("tina", *AFTERNOON)
    assert (booked.signed_off_by, booked.signed_off_at, booked.missing_parts, booked.note) == ("", None, (), "")
    assert booked.labour_minutes == 40


def test_parts_found_missing_join_the_parts_needed() -> None:
    on_site = _work_order(S.ON_SITE, parts_needed=(PartLine("PUMP-200", 1),))

    revisit = work_orders.moved(
        on_site,
        S.NEEDS_REVISIT,
        TECHNICIAN,
        note="hose cracked as well",
        missing=[PartLine("HOSE-12", 2), PartLine("PUMP-200", 1)],
        now=NOW,
    )

    assert revisit.missing_parts == (PartLine("HOSE-12", 2), PartLine("PUMP-200", 1))
    assert revisit.parts_needed == (PartLine("HOSE-12", 2), PartLine("PUMP-200", 2))


def test_only_a_revisit_finds_parts_missing() -> None:
    with pytest.raises(InvalidArgument, match="missing_parts"):
        work_orders.moved(_ready(S.EN_ROUTE), S.ON_SITE, TECHNICIAN, missing=[PartLine("HOSE-12", 1)], now=NOW)


@pytest.mark.parametrize("target", [S.SCHEDULED, S.COMPLETED, S.CANCELLED, S.OPEN])
def test_a_technicians_move_is_only_en_route_on_site_or_needs_revisit(target: WorkOrderStatus) -> None:
    with pytest.raises(InvalidArgument, match="is not a technician's move"):
        work_orders.moved(_ready(S.ON_SITE), target, SUPERVISOR, note="x", now=NOW)


# -- the technician's record: labour, parts used, sign-off ---------------------------------------


@pytest.mark.parametrize("status", sorted(WorkOrderStatus))
def test_labour_is_logged_from_en_route_until_the_work_order_ends(status: WorkOrderStatus) -> None:
    work_order = _work_order(status, labour_minutes=30)

    if status in {S.EN_ROUTE, S.ON_SITE, S.NEEDS_REVISIT}:
        assert work_orders.with_labour(work_order, TECHNICIAN, minutes=45, now=NOW).labour_minutes == 75
    else:
        with pytest.raises(FailedPrecondition, match=f"it is {status.value}"):
            work_orders.with_labour(work_order, SUPERVISOR, minutes=45, now=NOW)


@pytest.mark.parametrize("minutes", [0, -5, 24 * 60 + 1])
def test_a_labour_entry_is_between_a_minute_and_a_day(minutes: int) -> None:
    with pytest.raises(InvalidArgument, match="minutes"):
        work_orders.with_labour(_work_order(S.ON_SITE), TECHNICIAN, minutes=minutes, now=NOW)


FIELD_WORK: dict[str, Callable[[WorkOrder, Actor], WorkOrder]] = {
    "labour": lambda w, a: work_orders.with_labour(w, a, minutes=10, now=NOW),
    "parts used": lambda w, a: work_orders.with_parts_used(w, a, used=[PartUse("PUMP-200", "van-tom", 1)], now=NOW),
    "sign-off": lambda w, a: work_orders.signed_off(w, a, signatory="Erika Mustermann", now=NOW),
}


@pytest.mark.parametrize("record", sorted(FIELD_WORK))
@pytest.mark.parametrize(("who", "may"), [(who, who in MAY_WORK) for who in sorted(EVERYONE)])
def test_only_the_assigned_technician_or_a_supervisor_records_field_work(record: str, who: str, may: bool) -> None:
    on_site = replace(_work_order(S.ON_SITE), updated_at=None)

    if may:
        assert FIELD_WORK[record](on_site, EVERYONE[who]).updated_at == NOW
    else:
        with pytest.raises(PermissionDenied):
            FIELD_WORK[record](on_site, EVERYONE[who])


@pytest.mark.parametrize("status", sorted(set(WorkOrderStatus) - {S.ON_SITE}))
def test_parts_used_and_sign_off_are_recorded_on_site_only(status: WorkOrderStatus) -> None:
    work_order = _work_order(status)

    with pytest.raises(FailedPrecondition, match="only while it is on_site"):
        work_orders.with_parts_used(work_order, SUPERVISOR, used=[PartUse("PUMP-200", "van-tom", 1)], now=NOW)
    with pytest.raises(FailedPrecondition, match="only while it is on_site"):
        work_orders.signed_off(work_order, SUPERVISOR, signatory="Erika Mustermann", now=NOW)


def test_recording_parts_used_replaces_the_record_with_one_line_per_part_and_place() -> None:
    on_site = _work_order(S.ON_SITE, parts_used=(PartUse("PUMP-200", "van-tom", 3),))

    recorded = work_orders.with_parts_used(
        on_site,
        TECHNICIAN,
        used=[PartUse("PUMP-200", "van-tom", 1), PartUse("CLAMP-8", "van-tom", 2), PartUse("CLAMP-8", "van-tom", 1)],
        now=NOW,
    )

    assert recorded.parts_used == (PartUse("CLAMP-8", "van-tom", 3), PartUse("PUMP-200", "van-tom", 1))


def test_parts_consumed_on_an_earlier_visit_cannot_be_taken_off_the_record() -> None:
    second_visit = _work_order(
        S.ON_SITE, parts_used=(PartUse("PUMP-200", "van-tom", 1),), parts_consumed=(PartUse("PUMP-200", "van-tom", 1),)
    )

    with pytest.raises(FailedPrecondition, match="fitted on an earlier visit"):
        work_orders.with_parts_used(second_visit, TECHNICIAN, used=[PartUse("CLAMP-8", "van-tom", 1)], now=NOW)


def test_a_sign_off_keeps_the_name_and_the_time() -> None:
    signed = work_orders.signed_off(_work_order(S.ON_SITE), TECHNICIAN, signatory="  Erika Mustermann ", now=NOW)

    assert (signed.signed_off_by, signed.signed_off_at) == ("Erika Mustermann", NOW)


def test_a_blank_sign_off_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="signed_off_by"):
        work_orders.signed_off(_work_order(S.ON_SITE), TECHNICIAN, signatory="   ", now=NOW)


# -- creating, seeing ----------------------------------------------------------------------------


def _new(**overrides: object) -> NewWorkOrder:
    values: dict[str, object] = {
        "ticket_id": "0195a0c4-7d1e-7f00-8000-000000000001",
        "site_address": "Hauptstrasse 5, 10115 Berlin",
        "latitude": 52.53,
        "longitude": 13.38,
        "window_start": MORNING[0],
        "window_end": MORNING[1],
        "estimated_minutes": 90,
        "created_by": "alice",
        "parts_needed": (PartLine("PUMP-200", 1), PartLine("CLAMP-8", 2), PartLine("PUMP-200", 1)),
    }
    values.update(overrides)
    return NewWorkOrder(**values)  # type: ignore[arg-type]


def test_a_new_work_order_is_open_at_version_one_with_the_tickets_skills_by_default() -> None:
    opened = work_orders.opened(
        _new(), work_order_id="wo-1", customer_id="C-1001", ticket_skills=("washing-machines",), actor=AGENT, now=NOW
    )

    assert (opened.status, opened.version, opened.customer_id) == (S.OPEN, 1, "C-1001")
    assert opened.required_skills == ("washing-machines",)
    assert opened.parts_needed == (PartLine("CLAMP-8", 2), PartLine("PUMP-200", 2))


def test_skills_given_for_the_visit_replace_the_tickets() -> None:
    opened = work_orders.opened(
        _new(required_skills=("gas-safe",)),
        work_order_id="wo-1",
        customer_id="C-1001",
        ticket_skills=("washing-machines",),
        actor=AGENT,
        now=NOW,
    )

    assert opened.required_skills == ("gas-safe",)


def test_a_new_work_order_names_every_bad_field_at_once() -> None:
    with pytest.raises(InvalidArgument) as refused:
        work_orders.opened(
            _new(site_address=" ", latitude=91.0, longitude=-181.0, estimated_minutes=0),
            work_order_id="wo-1",
            customer_id="C-1001",
            ticket_skills=(),
            actor=AGENT,
            now=NOW,
        )

    assert [v.field for v in refused.value.violations] == ["site_address", "latitude", "longitude", "estimated_minutes"]


@pytest.mark.parametrize("actor", [TECHNICIAN, INTEGRATION])
def test_only_the_desk_plans_work_orders(actor: Actor) -> None:
    with pytest.raises(PermissionDenied):
        work_orders.opened(_new(), work_order_id="wo-1", customer_id="C-1001", ticket_skills=(), actor=actor, now=NOW)


@pytest.mark.parametrize(("who", "sees"), [(k, k not in {"other technician", "integration"}) for k in EVERYONE])
def test_who_sees_a_work_order(who: str, sees: bool) -> None:
    assert work_orders.sees(EVERYONE[who], _work_order(S.SCHEDULED)) is sees


def test_the_summary_carries_what_the_tickets_view_shows() -> None:
    summary = work_orders.summary_of(_work_order(S.SCHEDULED))

    assert (summary.status, summary.technician_id, summary.window_start, summary.window_end) == (
        S.SCHEDULED,
        "tom",
        *MORNING,
    )


# -- parts arithmetic ----------------------------------------------------------------------------


def test_outstanding_parts_are_the_needs_less_what_earlier_visits_consumed_anywhere() -> None:
    work_order = _work_order(
        S.NEEDS_REVISIT,
        parts_needed=(PartLine("HOSE-12", 1), PartLine("PUMP-200", 2)),
        parts_consumed=(PartUse("PUMP-200", "van-tom", 1), PartUse("PUMP-200", "depot-berlin", 1)),
    )

    assert work_order.outstanding_parts == (PartLine("HOSE-12", 1),)


def test_consumption_takes_from_the_reservation_first_and_the_rest_from_free_stock() -> None:
    held = {("PUMP-200", "van-tom"): 2, ("CLAMP-8", "van-tom"): 4}

    draws = parts.plan_consumption([PartUse("PUMP-200", "van-tom", 3), PartUse("CLAMP-8", "van-tom", 1)], held)

    assert draws == (Draw("CLAMP-8", "van-tom", 1, 0), Draw("PUMP-200", "van-tom", 2, 1))
    assert parts.left_after(held, draws) == (PartUse("CLAMP-8", "van-tom", 3),)


def test_what_is_not_yet_consumed_is_the_record_less_earlier_consumption() -> None:
    used = (PartUse("PUMP-200", "van-tom", 2), PartUse("CLAMP-8", "van-tom", 1))
    consumed = (PartUse("PUMP-200", "van-tom", 1), PartUse("CLAMP-8", "van-tom", 1))

    assert parts.not_yet_consumed(used, consumed) == (PartUse("PUMP-200", "van-tom", 1),)


@pytest.mark.parametrize(("sku", "quantity"), [("PUMP-200", 0), ("PUMP-200", -1), ("bad sku!", 1)])
def test_a_part_line_needs_a_real_sku_and_a_positive_quantity(sku: str, quantity: int) -> None:
    with pytest.raises(InvalidArgument, match=r"parts_needed\[0\]"):
        parts.lines([PartLine(sku, quantity)], field="parts_needed")


def test_insufficient_stock_names_the_part_the_place_and_what_is_available() -> None:
    refusal = parts.insufficient("PUMP-200", "van-tom", 3, StockLevel("PUMP-200", "van-tom", on_hand=5, reserved=4))

    assert str(refusal) == "not enough PUMP-200 at van-tom: 3 wanted, 1 available (5 on hand, 4 reserved)"


def test_a_count_below_what_is_reserved_is_refused() -> None:
    with pytest.raises(FailedPrecondition, match="2 x PUMP-200 counted at van-tom, but 3 are reserved"):
        parts.check_counted(StockLevel("PUMP-200", "van-tom", 5, 3), 2, sku="PUMP-200", location_id="van-tom")


def test_parts_come_from_a_depot_or_the_visiting_technicians_own_van() -> None:
    parts.van_fits(StockLocation("depot-berlin", LocationKind.DEPOT, "Berlin depot"), "tom")
    parts.van_fits(StockLocation("van-tom", LocationKind.VAN, "Tom's van", "tom"), "tom")

    with pytest.raises(FailedPrecondition, match="van van-tina belongs to tina, not tom"):
        parts.van_fits(StockLocation("van-tina", LocationKind.VAN, "Tina's van", "tina"), "tom")


@pytest.mark.parametrize(
    ("location", "field"),
    [
        (StockLocation("van-tom", LocationKind.VAN, "Tom's van", ""), "technician_id"),
        (StockLocation("depot-berlin", LocationKind.DEPOT, "Berlin depot", "tom"), "technician_id"),
        (StockLocation("no spaces", LocationKind.DEPOT, "Berlin depot"), "location_id"),
    ],
)
def test_a_van_has_a_driver_and_a_depot_has_none(location: StockLocation, field: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        parts.check_location(location)

    assert [v.field for v in refused.value.violations] == [field]


def test_the_stock_keepers_are_supervisors_admins_and_the_desk_itself() -> None:
    assert [parts.may_keep_stock(a) for a in (SUPERVISOR, ADMIN, SYSTEM, AGENT, TECHNICIAN)] == [
        True,
        True,
        True,
        False,
        False,
    ]
