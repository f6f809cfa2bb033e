"""A customer's value: revenue against the cost to serve them, the contribution left, and the tier it earns.

Everything is in minor units of one currency (the service counts only its configured currency and says
so for the rest). The service sums a trailing window of revenue and costs into a Ledger; this module
prices the work, picks the tier and explains it in a sentence an account manager can repeat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from switchboard.enums import tier_value

# Tiers above standard, lowest first; standard is where every customer starts, so it has no threshold.
TIER_NAMES = ("silver", "gold", "platinum")

# ISO 4217 currencies whose minor unit is not a hundredth; every other one has two decimals.
_DECIMALS = {
    **dict.fromkeys(
        (
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
        ),
        0,
    ),
    "XPF": 0,
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


@dataclass(frozen=True)
class Rates:
    """What serving a customer costs, in minor units."""

    agent_minute_minor: int
    technician_minute_minor: int
    # One technician visit (travel, the van), on top of its labour.
    visit_minor: int
    part_minor: Mapping[str, int] = field(default_factory=dict)
    # For a part whose sku has no price of its own.
    part_default_minor: int = 0


@dataclass(frozen=True)
class Thresholds:
    """The contribution, in minor units, at which each tier starts (strictly increasing)."""

    silver: int
    gold: int
    platinum: int

    def __post_init__(self) -> None:
        if not self.silver < self.gold < self.platinum:
            raise ValueError(
                f"tier thresholds must increase from silver to gold to platinum, not {self.silver}, "
                f"{self.gold}, {self.platinum}"
            )


@dataclass(frozen=True)
class Ledger:
    """A customer's revenue and cost to serve over the service's trailing window."""

    revenue_minor: int = 0
    cost_minor: int = 0

    @property
    def contribution_minor(self) -> int:
        return self.revenue_minor - self.cost_minor


def _pairs(text: str, what: str) -> list[tuple[str, int]]:
    """ "a=1, b=2" as [("a", 1), ("b", 2)]; ValueError naming the piece that is wrong."""
    pairs: list[tuple[str, int]] = []
    seen: set[str] = set()
    for piece in text.split(","):
        if not piece.strip():
            continue
        name, equals, number = (part.strip() for part in piece.partition("="))
        if not equals or not name:
            raise ValueError(f"{what}: {piece.strip()!r} is not name=amount")
        try:
            amount = int(number)
        except ValueError:
            raise ValueError(
                f"{what}: the amount for {name} must be an integer in minor units, not {number!r}"
            ) from None
        if name in seen:
            raise ValueError(f"{what}: {name} is given twice")
        seen.add(name)
        pairs.append((name, amount))
    return pairs


def parse_thresholds(text: str) -> Thresholds:
    """Thresholds from "silver=50000,gold=200000,platinum=1000000" (minor units, any order)."""
    given = {}
    for name, amount in _pairs(text, "tier thresholds"):
        tier = name.lower()
        if tier not in TIER_NAMES:
            raise ValueError(f"tier thresholds: unknown tier {name!r}; expected {', '.join(TIER_NAMES)}")
        given[tier] = amount
    missing = [tier for tier in TIER_NAMES if tier not in given]
    if missing:
        raise ValueError(f"tier thresholds: missing {', '.join(missing)} (expected silver=...,gold=...,platinum=...)")
    return Thresholds(**given)


def parse_part_costs(text: str) -> dict[str, int]:
    """Part prices from "FLT-220=1500,PMP-7=9000" (sku=minor units); "" is no prices."""
    costs = dict(_pairs(text, "part costs"))
    negative = [sku for sku, cost in costs.items() if cost < 0]
    if negative:
        raise ValueError(f"part costs: {', '.join(negative)} cannot cost less than nothing")
    return costs


def cost_of_work(minutes: int, rates: Rates) -> int:
    """An agent's logged time on a ticket. A negative entry (a correction) lowers the cost."""
    return minutes * rates.agent_minute_minor


def cost_of_visit(labour_minutes: int, parts: Mapping[str, int], rates: Rates) -> int:
    """A completed work order: one visit, the technician's labour and the parts used (sku → quantity)."""
    parts_minor = sum(quantity * rates.part_minor.get(sku, rates.part_default_minor) for sku, quantity in parts.items())
    return rates.visit_minor + labour_minutes * rates.technician_minute_minor + parts_minor


def _starts(thresholds: Thresholds) -> tuple[tuple[str, int], ...]:
    return (("silver", thresholds.silver), ("gold", thresholds.gold), ("platinum", thresholds.platinum))


def tier_name_for(contribution_minor: int, thresholds: Thresholds) -> str:
    """ "standard", "silver", "gold" or "platinum": the highest tier whose threshold the contribution reaches."""
    name = "standard"
    for tier, start in _starts(thresholds):
        if contribution_minor >= start:
            name = tier
    return name


def tier_for(contribution_minor: int, thresholds: Thresholds) -> int:
    """The common.v1.CustomerTier value (STANDARD..PLATINUM) the contribution earns."""
    return tier_value(tier_name_for(contribution_minor, thresholds))


def money(minor: int, currency: str = "") -> str:
    """2340000 → "23,400.00" (with " EUR" when a currency is given), in the currency's own decimals."""
    decimals = _DECIMALS.get(currency.upper(), 2)
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**decimals)
    text = f"{sign}{whole:,}" + (f".{fraction:0{decimals}d}" if decimals else "")
    return f"{text} {currency}" if currency else text


def explain_tier(ledger: Ledger, tier: int, thresholds: Thresholds, currency: str) -> str:
    """One sentence: the tier, the contribution and how it was made, and the threshold that decided it.

    "gold: contribution 2,340.00 EUR (revenue 3,000.00 less 660.00 cost to serve) is at least the
    2,000.00 for gold; 7,660.00 short of platinum at 10,000.00"
    """
    starts = dict(_starts(thresholds))
    names = {int(tier_value(name)): name for name in TIER_NAMES}
    name = names.get(tier, "standard")
    contribution = ledger.contribution_minor
    head = (
        f"{name}: contribution {money(contribution, currency)} (revenue {money(ledger.revenue_minor)} "
        f"less {money(ledger.cost_minor)} cost to serve)"
    )
    # The tier's own threshold (silver's for standard), then the next one up, if there is one.
    own = name if name != "standard" else "silver"
    start = starts[own]
    judged = (
        f"is at least the {money(start)} for {own}"
        if contribution >= start
        else f"is below the {money(start)} for {own} ({money(start - contribution)} short)"
    )
    higher = TIER_NAMES[TIER_NAMES.index(own) + 1 :]
    if name != "standard" and higher and contribution < starts[higher[0]]:
        upper = higher[0]
        judged += f"; {money(starts[upper] - contribution)} short of {upper} at {money(starts[upper])}"
    return f"{head} {judged}"
