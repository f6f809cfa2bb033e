"""Profiles: create and update (compare-and-set), and the customer.profile_changed that tells the suite."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import structlog

from services.customer360.domain import identity, profiles
from services.customer360.domain.identity import Identifier
from services.customer360.domain.profiles import Details, Profile
from services.customer360.service.groups import group_of, root_of
from services.customer360.store.erasures import ErasureStore
from services.customer360.store.identifiers import IdentifierStore
from services.customer360.store.profiles import ProfileStore
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.errors import Aborted, AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from switchboard.events.v1.customer_events_pb2 import ContactConsents, CustomerProfileChanged
from switchboard.timestamps import timestamp

log = structlog.get_logger("customer360")


def load(uow: UnitOfWork, customer_id: str, *, lock: bool = False) -> Profile:
    """The profile as stored, with its own identifiers; NOT_FOUND for an unknown id."""
    profile = ProfileStore(uow.session).get(customer_id, lock=lock)
    if profile is None:
        raise NotFound("customer", customer_id)
    held = IdentifierStore(uow.session).of([customer_id])[customer_id]
    return replace(profile, identifiers=held)


def identifiers_of(
    *, phones: Sequence[str], emails: Sequence[str], externals: Sequence[tuple[str, str]], region: str, field: str
) -> list[Identifier]:
    """Normalised identifiers from what a caller typed; INVALID_ARGUMENT naming each bad one."""
    found: list[Identifier] = []
    bad: list[FieldViolation] = []
    for n, text in enumerate(phones):
        try:
            found.append(identity.phone(text, region))
        except ValueError as exc:
            bad.append(FieldViolation(f"{field}.phones[{n}]", str(exc)))
    for n, text in enumerate(emails):
        try:
            found.append(identity.email(text))
        except ValueError as exc:
            bad.append(FieldViolation(f"{field}.emails[{n}]", str(exc)))
    for n, (system, external_id) in enumerate(externals):
        try:
            found.append(identity.external(system, external_id))
        except ValueError as exc:
            bad.append(FieldViolation(f"{field}.external_ids[{n}]", str(exc)))
    if bad:
        raise InvalidArgument(bad)
    return sorted(set(found))


def create_customer(
    uow: UnitOfWork, customer_id: str, details: Details, held: Sequence[Identifier], *, actor: str
) -> Profile:
    """A new profile at version 1, or the "known from events" profile of that id claimed and filled in.

    ALREADY_EXISTS for an id an API call created before, or an identifier another profile holds;
    FAILED_PRECONDITION for an erased customer's id or identifier.
    """
    now = utcnow()
    _check(details, now, "customer")
    if ErasureStore(uow.session).any_erased([identity.customer_digest(customer_id), *(i.digest for i in held)]):
        raise FailedPrecondition(f"customer {customer_id} or one of the identifiers given was erased; it stays erased")
    store = ProfileStore(uow.session)
    if store.add(Profile(customer_id=customer_id, version=1, details=details), at=now):
        _claim(uow, customer_id, held, replace_all=True, at=now)
    else:
        existing = load(uow, customer_id, lock=True)
        if not existing.known_from_events or existing.erased:
            raise AlreadyExists(f"customer {customer_id} exists (version {existing.version}); update it instead")
        # An event named this customer first: the API call fills in the profile it made.
        store.save(customer_id, expected_version=existing.version, details=details, at=now, known_from_events=False)
        _claim(uow, customer_id, held, replace_all=False, at=now)
    log.info("customer.created", customer_id=customer_id, actor=actor)
    emit_changed(uow, customer_id)
    return load(uow, customer_id)


def update_customer(
    uow: UnitOfWork,
    customer_id: str,
    *,
    version: int,
    details: Details,
    held: Sequence[Identifier] | None,
    mask: Sequence[str],
    actor: str,
) -> Profile:
    """Replace the masked fields (all for an empty mask); ABORTED when version is stale,
    FAILED_PRECONDITION for a merged or erased profile. ``held`` is None when the identifiers stay."""
    unknown = [n for n in mask if n not in profiles.UPDATABLE]
    if unknown:
        raise InvalidArgument(
            [
                FieldViolation(
                    "update_mask", f"cannot update {', '.join(unknown)}; updatable: {', '.join(profiles.UPDATABLE)}"
                )
            ]
        )
    current = load(uow, customer_id, lock=True)
    writable(current)
    if current.version != version:
        raise Aborted(f"customer {customer_id} is at version {current.version}, not {version}; re-read and retry")
    now = utcnow()
    new = profiles.updated(current.details, details, mask)
    _check(new, now, "customer")
    if held is not None and ErasureStore(uow.session).any_erased(i.digest for i in held):
        raise FailedPrecondition("an identifier given belongs to an erased customer; it stays erased")
    ProfileStore(uow.session).save(customer_id, expected_version=version, details=new, at=now, known_from_events=False)
    if held is not None:
        _claim(uow, customer_id, held, replace_all=True, at=now, kinds=_kinds_in(mask))
    log.info("customer.updated", customer_id=customer_id, actor=actor, version=version + 1)
    emit_changed(uow, customer_id)
    return load(uow, customer_id)


def writable(profile: Profile) -> None:
    if profile.erased:
        raise FailedPrecondition(f"customer {profile.customer_id} was erased")
    if profile.merged_into:
        raise FailedPrecondition(
            f"customer {profile.customer_id} is merged into {profile.merged_into}; change {profile.merged_into}, "
            "or unmerge first"
        )


def emit_changed(uow: UnitOfWork, customer_id: str) -> None:
    """customer.profile_changed for this profile: a group's root with what the group shows, a merged
    profile with its own data and the survivor it points to."""
    profile = load(uow, customer_id)
    details, held = profile.details, profile.identifiers
    if not profile.merged_into:
        group = group_of(uow, customer_id)
        if len(group) > 1:  # alone, the profile and its identifiers just read are the group's
            others = ProfileStore(uow.session).get_many(group[1:])
            details = profiles.overlay(details, (o.details for o in others))
            held = tuple(i for ids in IdentifierStore(uow.session).of(group).values() for i in ids)
    c = details.consents
    uow.emit(
        CustomerProfileChanged(
            customer_id=customer_id,
            version=profile.version,
            display_name=details.display_name,
            emails=sorted(i.value for i in held if i.kind == "email"),
            phones=sorted(i.value for i in held if i.kind == "phone"),
            preferred_language=details.preferred_language,
            time_zone=details.time_zone,
            consents=ContactConsents(email=c.email, sms=c.sms, phone=c.phone, chat=c.chat, marketing=c.marketing),
            account_owner=details.account_owner,
            tier=profile.tier,  # type: ignore[arg-type]
            merged_into=profile.merged_into,
            changed_at=timestamp(profile.updated_at or utcnow()),
        ),
        customer_id=customer_id,
    )


def account_owner(uow: UnitOfWork, customer_id: str) -> str:
    """Who looks after the customer: the group root's owner, else the first merged profile's."""
    root = root_of(uow, customer_id)
    for profile in ProfileStore(uow.session).get_many(group_of(uow, root)):
        if profile.details.account_owner:
            return profile.details.account_owner
    return ""


def _claim(
    uow: UnitOfWork,
    customer_id: str,
    wanted: Sequence[Identifier],
    *,
    replace_all: bool,
    at: datetime,
    kinds: frozenset[str] = frozenset(identity.KINDS),
) -> None:
    """Give the profile these identifiers (and, with replace_all, drop its others of those kinds);
    ALREADY_EXISTS naming the profile that holds one of them."""
    store = IdentifierStore(uow.session)
    owners = store.owners(list(wanted))
    taken = sorted(f"{i.key} (customer {o})" for i, o in owners.items() if o != customer_id)
    if taken:
        raise AlreadyExists(f"held by another profile: {', '.join(taken)}; merge the profiles instead")
    if replace_all:
        current = store.of([customer_id])[customer_id]
        store.remove(customer_id, [i for i in current if i.kind in kinds and i not in wanted])
    for identifier in wanted:
        if identifier not in owners:
            store.add(identifier, customer_id, source="api", at=at)


def _kinds_in(mask: Sequence[str]) -> frozenset[str]:
    if not mask:
        return frozenset(identity.KINDS)
    named = {"phones": "phone", "emails": "email", "external_ids": "external"}
    return frozenset(kind for field, kind in named.items() if field in mask)


def _check(details: Details, now: datetime, field: str) -> None:
    found = profiles.problems(details, now.date())
    if found:
        raise InvalidArgument([FieldViolation(f"{field}.{name}", why) for name, why in found])
