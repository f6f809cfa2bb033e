"""Unusual behaviour: each event the detectors watch is judged against the customer's own baselines."""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog
from google.protobuf.message import Message

from services.customer360 import config
from services.customer360.domain import anomaly as detectors
from services.customer360.service import profiles
from services.customer360.service.groups import root_of
from services.customer360.store.anomalies import Anomaly, AnomalyStore
from services.customer360.store.profiles import ProfileStore
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.errors import NotFound
from switchboard.events.v1.customer_events_pb2 import CustomerAnomalyDetected
from switchboard.timestamps import timestamp

log = structlog.get_logger("customer360")
_NAMESPACE = uuid.UUID("6f1c1a64-3b7e-4b8e-9a51-c360a0000001")
DETECTORS = detectors.DetectorConfig()


def observe(
    uow: UnitOfWork, customer_id: str, event_type: str, payload: Message, *, at: datetime, event_id: str
) -> None:
    """Learn the event into the profile's baselines; record and announce each departure found."""
    observations = detectors.observations_of(event_type, payload, at, event_id)
    if not observations:
        return
    store = ProfileStore(uow.session)
    # Optimistic first: identity resolution read the baselines with the profile; they are written back
    # only if still the same (compare-and-set), else read again under a row lock and learnt again, so
    # the outcome is that of applying the events one after another either way.
    seen = store.remembered_baselines(customer_id)
    if seen is not None:
        text, findings = _learn(seen, observations)
        if store.swap_baselines(customer_id, seen, text):
            _record_all(uow, customer_id, findings)
            return
    current = store.baselines_of(customer_id, lock=True)
    text, findings = _learn(current, observations)
    if text != current:
        store.set_baselines(customer_id, text)
    _record_all(uow, customer_id, findings)


def _learn(text: str, observations: list[detectors.Observation]) -> tuple[str, list[detectors.Finding]]:
    """The baselines (as stored) after learning the observations, and what departed from them."""
    baselines = detectors.Baselines.from_json(text) if text else detectors.Baselines.empty()
    findings: list[detectors.Finding] = []
    for observation in observations:
        baselines, found = detectors.observe(baselines, observation, DETECTORS)
        findings.extend(found)
    return baselines.to_json(), findings


def _record_all(uow: UnitOfWork, customer_id: str, findings: list[detectors.Finding]) -> None:
    for finding in findings:
        _record(uow, customer_id, finding)


def _record(uow: UnitOfWork, customer_id: str, finding: detectors.Finding) -> None:
    now = utcnow()
    anomaly = Anomaly(
        anomaly_id=str(
            uuid.uuid5(_NAMESPACE, f"{finding.source_event_id}|{finding.kind}|{finding.metric}|{finding.asset_id}")
        ),
        customer_id=customer_id,
        kind=finding.kind,
        metric=finding.metric,
        observed=finding.observed,
        baseline=finding.baseline,
        score=finding.score,
        reason=finding.reason,
        asset_id=finding.asset_id,
        source_event_id=finding.source_event_id,
        source_event_type=finding.source_event_type,
        detected_at=now,
    )
    if not AnomalyStore(uow.session).add(anomaly):
        return
    root = root_of(uow, customer_id)
    uow.emit(
        CustomerAnomalyDetected(
            anomaly_id=anomaly.anomaly_id,
            customer_id=root,
            kind=anomaly.kind,
            metric=anomaly.metric,
            observed=anomaly.observed,
            baseline=anomaly.baseline,
            score=anomaly.score,
            reason=anomaly.reason,
            account_owner=profiles.account_owner(uow, root),
            source_event_id=anomaly.source_event_id,
            source_event_type=anomaly.source_event_type,
            asset_id=anomaly.asset_id,
            detected_at=timestamp(now),
            open_ticket=config.load().anomaly_open_ticket,
        ),
        customer_id=root,
    )
    log.info("customer.anomaly_detected", customer_id=root, kind=anomaly.kind, reason=anomaly.reason)


def acknowledge(uow: UnitOfWork, anomaly_id: str, *, actor: str) -> Anomaly:
    store = AnomalyStore(uow.session)
    if store.get(anomaly_id) is None:
        raise NotFound("anomaly", anomaly_id)
    store.acknowledge(anomaly_id, by=actor, at=utcnow())
    found = store.get(anomaly_id)
    assert found is not None
    return found
