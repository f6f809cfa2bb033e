"""Who an event or a call is about: identifiers normalised so one person matches however they were written.

A customer is known by several identifiers: phones (E.164), emails (trimmed, lower-cased) and other
systems' ids (qualified by the system). Each identifier belongs to one profile.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import phonenumbers

Kind = Literal["phone", "email", "external"]
KINDS: tuple[Kind, ...] = ("external", "email", "phone")  # strongest first: how an event is matched
GENERATED_PREFIX = "K-"
"""Ids of profiles first known from an event that named no customer id."""


@dataclass(frozen=True, order=True)
class Identifier:
    kind: Kind
    value: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.value}"

    @property
    def digest(self) -> str:
        """What an erased customer's tombstone keeps instead of the identifier itself."""
        return digest(self.key)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def customer_digest(customer_id: str) -> str:
    return digest(f"customer:{customer_id}")


def phone(text: str, region: str) -> Identifier:
    """E.164 for a number as a person or the phone network wrote it; ValueError saying why not."""
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{text!r} is not a phone number: {exc}") from exc
    # Strictly possible: a number only diallable locally (no area code) cannot name one person.
    if phonenumbers.is_possible_number_with_reason(parsed) != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise ValueError(f"{text!r} is not a complete phone number (region {region})")
    return Identifier("phone", phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def email(text: str) -> Identifier:
    value = text.strip().lower()
    local, at, domain = value.partition("@")
    if not local or not at or "." not in domain or " " in value:
        raise ValueError(f"{text!r} is not an email address")
    return Identifier("email", value)


def external(system: str, external_id: str) -> Identifier:
    system, external_id = system.strip().lower(), external_id.strip()
    if not system or not external_id or ":" in system:
        raise ValueError(f"an external id needs a system (without ':') and an id; got {system!r}, {external_id!r}")
    return Identifier("external", f"{system}:{external_id}")


def of_contact(*, phone_text: str, email_text: str, system: str, external_id: str, region: str) -> list[Identifier]:
    """The identifiers an event's contact point names, strongest first; ValueError for a malformed one."""
    found: list[Identifier] = []
    if system or external_id:
        found.append(external(system, external_id))
    if email_text:
        found.append(email(email_text))
    if phone_text:
        found.append(phone(phone_text, region))
    return found


def generated_id(first: Identifier) -> str:
    """The id of a profile first known by this identifier: derived from it, so a redelivered or
    replayed event finds the same profile rather than making another."""
    return GENERATED_PREFIX + digest(first.key)[:20].upper()


def is_generated(customer_id: str) -> bool:
    return customer_id.startswith(GENERATED_PREFIX)


def survivor(a: str, b: str) -> tuple[str, str]:
    """(survivor, merged) when identity resolution joins two profiles: an id the suite gave over a
    generated one, then the smaller id. A total order, so the result never depends on arrival order."""
    ranked = sorted((a, b), key=lambda c: (is_generated(c), c))
    return ranked[0], ranked[1]
