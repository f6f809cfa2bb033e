"""Parts and stock: what a work order needs, uses and consumes, and the rules stock quantities keep.

Stock is counted per part (sku) and location (a depot or a technician's van) as ``on_hand`` (on the
shelf) and ``reserved`` (promised to scheduled work orders). What may still be promised is
``on_hand - reserved``. The invariants ``0 <= reserved <= on_hand`` hold in every state; the store
enforces them with conditional updates and CHECK constraints, this module says what each change
asks for and words the refusals.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from services.ticketing.domain.lifecycle import ADMIN, SUPERVISOR, SYSTEM, Actor
from switchboard.errors import FailedPrecondition, FieldViolation, InvalidArgument, PermissionDenied

# Largest quantity of one part a single line or adjustment may carry: a typo guard, not a business limit.
MAX_QUANTITY = 100_000
SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
LOCATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# Who may change the catalogue, the locations and the counts on the shelves.
STOCK_KEEPERS = frozenset({SUPERVISOR, ADMIN, SYSTEM})


class LocationKind(StrEnum):
    DEPOT = "depot"
    VAN = "van"


@dataclass(frozen=True)
class Part:
    """A catalogue entry: ``unit`` says what one of ``quantity`` is ("piece", "m", "l", ...)."""

    sku: str
    name: str
    unit: str


@dataclass(frozen=True)
class StockLocation:
    location_id: str
    kind: LocationKind
    name: str
    # The technician who drives the van; empty for a depot.
    technician_id: str = ""


@dataclass(frozen=True)
class StockLevel:
    sku: str
    location_id: str
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True, order=True)
class PartLine:
    """So many of a part, wherever they come from: what a work order needs, or is missing."""

    sku: str
    quantity: int


@dataclass(frozen=True, order=True)
class PartUse:
    """So many of a part at one location: reserved there, used from there, or consumed from there."""

    sku: str
    location_id: str
    quantity: int


def may_keep_stock(actor: Actor) -> bool:
    return actor.may(STOCK_KEEPERS)


def require_stock_keeper(actor: Actor, what: str) -> None:
    if not may_keep_stock(actor):
        raise PermissionDenied(f"only a supervisor or an admin may {what}")


def check_part(part: Part) -> Part:
    problems = []
    if not SKU.match(part.sku):
        problems.append(FieldViolation("sku", "letters, digits, '.', '_', '/' or '-', 1 to 64, starting alphanumeric"))
    if not part.name.strip():
        problems.append(FieldViolation("name", "a part needs a name people recognise"))
    if not part.unit.strip():
        problems.append(FieldViolation("unit", "say what one of the quantity is, for example 'piece' or 'm'"))
    if problems:
        raise InvalidArgument(problems)
    return part


def check_location(location: StockLocation) -> StockLocation:
    problems = []
    if not LOCATION_ID.match(location.location_id):
        problems.append(FieldViolation("location_id", "letters, digits, '.', '_' or '-', 1 to 64"))
    if location.kind is LocationKind.VAN and not location.technician_id:
        problems.append(FieldViolation("technician_id", "a van belongs to the technician who drives it"))
    if location.kind is LocationKind.DEPOT and location.technician_id:
        problems.append(FieldViolation("technician_id", "a depot belongs to no technician; leave it empty"))
    if problems:
        raise InvalidArgument(problems)
    return location


def lines(items: Iterable[PartLine], *, field: str = "parts") -> tuple[PartLine, ...]:
    """Lines with one entry per sku (duplicates summed), sorted by sku, every quantity positive."""
    totals: Counter[str] = Counter()
    for index, item in enumerate(items):
        _check_quantity(item.sku, item.quantity, f"{field}[{index}]")
        totals[item.sku] += item.quantity
    return tuple(PartLine(sku, quantity) for sku, quantity in sorted(totals.items()))


def uses(items: Iterable[PartUse], *, field: str = "parts") -> tuple[PartUse, ...]:
    """Uses with one entry per (sku, location), duplicates summed, sorted; every quantity positive.

    Sorted order is also the order stock rows are touched in, so two transactions that reserve or
    consume several parts lock the rows in the same order and never deadlock each other.
    """
    totals: Counter[tuple[str, str]] = Counter()
    for index, item in enumerate(items):
        _check_quantity(item.sku, item.quantity, f"{field}[{index}]")
        if not LOCATION_ID.match(item.location_id):
            raise InvalidArgument([FieldViolation(f"{field}[{index}].location_id", "name the depot or van")])
        totals[(item.sku, item.location_id)] += item.quantity
    return tuple(PartUse(sku, location, quantity) for (sku, location), quantity in sorted(totals.items()))


def outstanding(needed: Iterable[PartLine], consumed: Iterable[PartUse]) -> tuple[PartLine, ...]:
    """What a work order still needs: its needs less what earlier visits consumed, wherever from."""
    remaining: Counter[str] = Counter({line.sku: line.quantity for line in needed})
    remaining.subtract(Counter(_by_sku(consumed)))
    return tuple(PartLine(sku, quantity) for sku, quantity in sorted(remaining.items()) if quantity > 0)


def not_yet_consumed(used: Iterable[PartUse], consumed: Iterable[PartUse]) -> tuple[PartUse, ...]:
    """The part of ``used`` that stock has not given up yet (consumption catches up at the end of a visit)."""
    remaining = Counter({(u.sku, u.location_id): u.quantity for u in used})
    remaining.subtract(Counter({(c.sku, c.location_id): c.quantity for c in consumed}))
    return tuple(
        PartUse(sku, location, quantity) for (sku, location), quantity in sorted(remaining.items()) if quantity > 0
    )


def check_used_covers_consumed(used: Iterable[PartUse], consumed: Iterable[PartUse]) -> None:
    """Parts fitted on an earlier visit are gone from stock: a new record of use may not undo them."""
    recorded = Counter({(u.sku, u.location_id): u.quantity for u in used})
    for c in consumed:
        if recorded[(c.sku, c.location_id)] < c.quantity:
            raise FailedPrecondition(
                f"{c.quantity} x {c.sku} from {c.location_id} were fitted on an earlier visit and consumed; "
                f"the parts used must include them (recorded {recorded[(c.sku, c.location_id)]})"
            )


@dataclass(frozen=True)
class Draw:
    """How one consumption is taken from stock: first from the work order's reservation there, the
    rest from what is free at that location."""

    sku: str
    location_id: str
    from_reservation: int
    from_free: int


def plan_consumption(to_consume: Iterable[PartUse], reserved: Mapping[tuple[str, str], int]) -> tuple[Draw, ...]:
    """The draws that consume ``to_consume`` given what the work order holds per (sku, location)."""
    draws = []
    for use in sorted(to_consume):
        held = reserved.get((use.sku, use.location_id), 0)
        taken = min(held, use.quantity)
        draws.append(Draw(use.sku, use.location_id, from_reservation=taken, from_free=use.quantity - taken))
    return tuple(draws)


def left_after(reserved: Mapping[tuple[str, str], int], draws: Iterable[Draw]) -> tuple[PartUse, ...]:
    """What stays reserved after the draws: released on completion, kept for the next visit otherwise."""
    left = Counter(reserved)
    left.subtract(Counter({(d.sku, d.location_id): d.from_reservation for d in draws}))
    return tuple(PartUse(sku, location, quantity) for (sku, location), quantity in sorted(left.items()) if quantity > 0)


def merged(*groups: Iterable[PartUse]) -> tuple[PartUse, ...]:
    totals: Counter[tuple[str, str]] = Counter()
    for group in groups:
        for use in group:
            totals[(use.sku, use.location_id)] += use.quantity
    return tuple(PartUse(sku, location, quantity) for (sku, location), quantity in sorted(totals.items()) if quantity)


def insufficient(sku: str, location_id: str, wanted: int, level: StockLevel | None) -> FailedPrecondition:
    """The refusal when a location cannot give what is asked: names the part, the place and what there is."""
    if level is None:
        return FailedPrecondition(f"{location_id} stocks no {sku}: cannot take {wanted}; 0 available")
    return FailedPrecondition(
        f"not enough {sku} at {location_id}: {wanted} wanted, {level.available} available "
        f"({level.on_hand} on hand, {level.reserved} reserved)"
    )


def check_received(quantity: int) -> None:
    if not 0 < quantity <= MAX_QUANTITY:
        raise InvalidArgument([FieldViolation("receive", f"receive between 1 and {MAX_QUANTITY}")])


def check_counted(level: StockLevel | None, counted: int, *, sku: str, location_id: str) -> None:
    """A physical count replaces on_hand; it may not fall below what scheduled work orders hold."""
    if not 0 <= counted <= MAX_QUANTITY:
        raise InvalidArgument([FieldViolation("count", f"count between 0 and {MAX_QUANTITY}")])
    reserved = level.reserved if level else 0
    if counted < reserved:
        raise FailedPrecondition(
            f"{counted} x {sku} counted at {location_id}, but {reserved} are reserved for scheduled work orders; "
            "reschedule or cancel them (or find the parts) before recording a lower count"
        )


def van_fits(location: StockLocation, technician_id: str) -> None:
    """Parts for a visit come from a depot or from the visiting technician's own van, never someone else's."""
    if location.kind is LocationKind.VAN and location.technician_id != technician_id:
        raise FailedPrecondition(
            f"van {location.location_id} belongs to {location.technician_id}, not {technician_id}; "
            "reserve from a depot or from the visiting technician's van"
        )


def _check_quantity(sku: str, quantity: int, field: str) -> None:
    if not SKU.match(sku):
        raise InvalidArgument([FieldViolation(f"{field}.sku", "not a part number (sku)")])
    if not 0 < quantity <= MAX_QUANTITY:
        raise InvalidArgument([FieldViolation(f"{field}.quantity", f"between 1 and {MAX_QUANTITY}")])


def _by_sku(items: Iterable[PartUse]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for item in items:
        totals[item.sku] += item.quantity
    return dict(totals)
