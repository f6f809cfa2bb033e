"""A customer's profile: who they are, how to reach them, and what they agreed to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.customer360.domain.identity import Identifier

CHANNELS = ("", "email", "sms", "phone", "chat")


@dataclass(frozen=True)
class Address:
    kind: str = ""
    lines: tuple[str, ...] = ()
    postcode: str = ""
    city: str = ""
    country: str = ""


@dataclass(frozen=True)
class Consents:
    email: bool = False
    sms: bool = False
    phone: bool = False
    chat: bool = False
    marketing: bool = False


@dataclass(frozen=True)
class Details:
    """What a person tells about themselves; every field may be blank."""

    display_name: str = ""
    given_name: str = ""
    family_name: str = ""
    birth_date: str = ""
    family_status: str = ""
    occupation: str = ""
    income_band: str = ""
    addresses: tuple[Address, ...] = ()
    interests: tuple[str, ...] = ()
    purchase_preferences: tuple[str, ...] = ()
    preferred_language: str = ""
    time_zone: str = ""
    consents: Consents = Consents()
    preferred_channel: str = ""
    do_not_contact: str = ""
    account_owner: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)


UPDATABLE = (*(f.name for f in fields(Details)), "phones", "emails", "external_ids")
"""Fields UpdateCustomer's mask may name."""


@dataclass(frozen=True)
class Profile:
    customer_id: str
    version: int
    details: Details
    identifiers: tuple[Identifier, ...] = ()
    tier: int = 0
    merged_into: str = ""
    known_from_events: bool = False
    erased: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def of_kind(self, kind: str) -> tuple[str, ...]:
        return tuple(sorted(i.value for i in self.identifiers if i.kind == kind))


def age(birth_date: str, today: date) -> int | None:
    if not birth_date:
        return None
    born = date.fromisoformat(birth_date)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def problems(details: Details, today: date) -> list[tuple[str, str]]:
    """(field, why) for each value a profile may not hold."""
    found: list[tuple[str, str]] = []
    if details.birth_date:
        try:
            born = date.fromisoformat(details.birth_date)
        except ValueError:
            found.append(("birth_date", f"{details.birth_date!r} is not a date (YYYY-MM-DD)"))
        else:
            if born > today:
                found.append(("birth_date", "lies in the future"))
    if details.time_zone:
        try:
            ZoneInfo(details.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            found.append(("time_zone", f"{details.time_zone!r} is not an IANA time zone"))
    if details.preferred_channel not in CHANNELS:
        found.append(("preferred_channel", f"must be one of {', '.join(c for c in CHANNELS if c)} or empty"))
    return found


def updated(current: Details, new: Details, mask: Iterable[str]) -> Details:
    """The current details with the masked fields taken from new (all of them for an empty mask)."""
    names = [n for n in mask if n in {f.name for f in fields(Details)}]
    if not list(mask):
        return new
    return replace(current, **{n: getattr(new, n) for n in names})


def overlay(survivor: Details, others: Iterable[Details]) -> Details:
    """What a merge group shows: the survivor's fields, blanks filled from the merged profiles in turn."""
    shown = survivor
    for other in others:
        blanks = {
            f.name: getattr(other, f.name)
            for f in fields(Details)
            if _blank(getattr(shown, f.name)) and not _blank(getattr(other, f.name))
        }
        if blanks:
            shown = replace(shown, **blanks)
    return shown


def _blank(value: object) -> bool:
    return value in ("", (), {}, None) or value == Consents()
