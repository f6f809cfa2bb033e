"""Staff recipients and everyone's preferences."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.notifications.domain import preferences as policy
from services.notifications.domain.recipients import Recipient
from services.notifications.domain.rules import CHANNELS
from services.notifications.store.preferences import PreferenceStore
from services.notifications.store.recipients import RecipientStore
from switchboard import errors
from switchboard.db.uow import UnitOfWork


def put_recipient(uow: UnitOfWork, recipient: Recipient, *, expected_version: int) -> Recipient:
    """Add (expected 0) or replace a staff recipient. Customers are customer360's to change."""
    if recipient.time_zone and not _zone_exists(recipient.time_zone):
        raise errors.InvalidArgument(
            [errors.FieldViolation("recipient.time_zone", f"unknown time zone {recipient.time_zone!r}")]
        )
    store = RecipientStore(uow.session)
    current = store.get(recipient.recipient_id)
    if current is not None and current.kind == "customer":
        raise errors.FailedPrecondition(
            f"{recipient.recipient_id} is a customer: their contact data comes from customer360"
        )
    if expected_version == 0:
        if current is not None:
            raise errors.Aborted(f"recipient {recipient.recipient_id} exists (version {current.version}); pass it")
        return store.add(recipient)
    if current is None:
        raise errors.NotFound("recipient", recipient.recipient_id)
    stored = store.replace(recipient, expected_version=expected_version)
    if stored is None:
        raise errors.Aborted(
            f"recipient {recipient.recipient_id} is at version {current.version}, not {expected_version}"
        )
    return stored


def get_recipient(uow: UnitOfWork, recipient_id: str) -> Recipient:
    found = RecipientStore(uow.session).get(recipient_id)
    if found is None:
        raise errors.NotFound("recipient", recipient_id)
    return found


def get_preferences(uow: UnitOfWork, recipient_id: str) -> policy.Preferences:
    """A recipient's preferences; none stored yet reads as the defaults, at version 0."""
    return PreferenceStore(uow.session).get(recipient_id) or policy.Preferences(recipient_id=recipient_id, channels={})


def put_preferences(uow: UnitOfWork, prefs: policy.Preferences, *, expected_version: int) -> policy.Preferences:
    policy.check_preferences(prefs, known_channels=CHANNELS)
    stored = PreferenceStore(uow.session).put(prefs, expected_version=expected_version)
    if stored is None:
        current = PreferenceStore(uow.session).get(prefs.recipient_id)
        raise errors.Aborted(
            f"the preferences of {prefs.recipient_id} are at version {current.version if current else 0}, "
            f"not {expected_version}"
        )
    return stored


def _zone_exists(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
