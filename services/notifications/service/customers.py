"""Customers as recipients: a copy of what customer360 says about reaching them, and its erasure."""

from __future__ import annotations

import structlog

from services.notifications.domain.recipients import Recipient
from services.notifications.store.ledger import Ledger
from services.notifications.store.preferences import PreferenceStore
from services.notifications.store.recipients import RecipientStore
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.envelope import Event
from switchboard.events.v1.customer_events_pb2 import CustomerErased, CustomerProfileChanged

log = structlog.get_logger("notifications.customers")

# An erased customer's row stays as a tombstone at this source version, so a replayed older
# customer.profile_changed can never bring their contact data back.
ERASED = 2**62
_CONSENTS = ("email", "sms", "phone", "chat", "marketing")


def profile_changed(uow: UnitOfWork, event: Event) -> None:
    """customer.profile_changed: keep the newest contact copy; an older version arriving late is ignored."""
    profile = event.payload
    assert isinstance(profile, CustomerProfileChanged)
    store = RecipientStore(uow.session)
    current = store.get(profile.customer_id)
    seen = store.source_version(profile.customer_id)
    if seen is not None and seen >= profile.version:
        log.info("customer.stale_profile", customer_id=profile.customer_id, version=profile.version, seen=seen)
        return
    recipient = Recipient(
        recipient_id=profile.customer_id,
        kind="customer",
        name=profile.display_name,
        emails=tuple(profile.emails),
        phones=tuple(profile.phones),
        locale=profile.preferred_language or "en",
        time_zone=profile.time_zone or "UTC",
        consents=frozenset(c for c in _CONSENTS if getattr(profile.consents, c)),
        account_owner=profile.account_owner,
        merged_into=profile.merged_into,
    )
    if current is None:
        store.add(recipient, source_version=profile.version)
    else:
        store.replace(recipient, expected_version=current.version, source_version=profile.version)


def erased(uow: UnitOfWork, event: Event) -> None:
    """customer.erased: forget how to reach them and what was sent; keep that something was, and how it went."""
    erasure = event.payload
    assert isinstance(erasure, CustomerErased)
    store = RecipientStore(uow.session)
    customer_id = erasure.customer_id
    PreferenceStore(uow.session).remove(customer_id)
    tombstone = Recipient(recipient_id=customer_id, kind="customer")
    current = store.get(customer_id)
    if current is None:
        store.add(tombstone, source_version=ERASED)
    else:
        store.replace(tombstone, expected_version=current.version, source_version=ERASED)
    scrubbed = Ledger(uow.session).scrub_customer(customer_id, utcnow())
    log.info("customer.erased", customer_id=customer_id, notifications_scrubbed=scrubbed)
