"""Applying one delivered message: decode, then the handler and the inbox claim in one transaction.

The kombu consumer and the embedded bus both call this, so a handler behaves the same on either.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum

import structlog
import tenacity

from switchboard import context
from switchboard.bus.topology import Subscription
from switchboard.db import inbox
from switchboard.db.engine import unavailable
from switchboard.db.uow import UnitOfWorkFactory
from switchboard.envelope import Event, decode
from switchboard.errors import Aborted, MalformedEvent, SwitchboardError
from switchboard.settings import Settings

log = structlog.get_logger("switchboard.bus")


class Outcome(Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"


class HandlerFailed(Exception):
    """The handler kept failing (or failed in a way retrying cannot fix): dead-letter with this reason."""

    def __init__(self, reason: str, event_id: str) -> None:
        self.reason, self.event_id = reason, event_id
        super().__init__(reason)


def _worth_retrying(exc: BaseException) -> bool:
    # A domain error is the same on every try (the event asks for something the state refuses),
    # except a lost compare-and-set race, which a re-read can win.
    return isinstance(exc, Aborted) or not isinstance(exc, SwitchboardError | MalformedEvent)


@dataclass
class Applier:
    service: str
    uow_factory: UnitOfWorkFactory
    settings: Settings

    def apply(self, subscription: Subscription, body: bytes, content_type: str | None) -> Outcome:
        """Apply once in effect, or raise MalformedEvent / HandlerFailed for the dead-letter queue."""
        event = decode(body, content_type)
        consumer = subscription.queue(self.service)
        started = time.perf_counter()
        work = context.WorkContext(
            correlation_id=event.envelope.correlation_id or event.event_id,
            causation_id=event.event_id,
            caller=context.SYSTEM,
            deadline=None,
        )
        with context.working(work):
            retrying = tenacity.Retrying(
                stop=self._give_up,
                wait=tenacity.wait_exponential(
                    multiplier=self.settings.handler_backoff, max=self.settings.handler_backoff_max
                ),
                retry=tenacity.retry_if_exception(_worth_retrying),
                before_sleep=lambda state: log.warning(
                    "event.retry",
                    consumer=consumer,
                    event_id=event.event_id,
                    attempt=state.attempt_number,
                    database_unavailable=unavailable(state.outcome.exception() if state.outcome else None),
                    error=repr(state.outcome.exception()) if state.outcome else None,
                ),
                reraise=True,
            )
            try:
                outcome = retrying(self._apply_once, subscription, consumer, event)
            except Exception as exc:
                reason = f"{subscription.handler_name} failed: {type(exc).__name__}: {exc}"
                log.error("event.failed", consumer=consumer, event_id=event.event_id, type=event.type, reason=reason)
                raise HandlerFailed(reason, event.event_id) from exc
            log.info(
                "event.handled",
                consumer=consumer,
                event_id=event.event_id,
                type=event.type,
                outcome=outcome.value,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            return outcome

    def _give_up(self, state: tenacity.RetryCallState) -> bool:
        # While the database is down every event would fail: keep the message (unacknowledged, in
        # order) and keep trying, rather than dead-letter good events for an outage.
        failure = state.outcome.exception() if state.outcome else None
        return state.attempt_number >= self.settings.handler_attempts and not unavailable(failure)

    def _apply_once(self, subscription: Subscription, consumer: str, event: Event) -> Outcome:
        with self.uow_factory() as uow:
            if not inbox.claim(uow.session, consumer, event.event_id):
                return Outcome.DUPLICATE
            subscription.handler(uow, event)
            uow.commit()
            return Outcome.APPLIED
