"""Idempotency keys: a retried mutating call returns the first call's result instead of acting twice."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from switchboard.db.tables import idempotency
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.errors import AlreadyExists

R = TypeVar("R", bound=Message)


def _hash(request: Message) -> str:
    return hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()


def once(
    uow_factory: Callable[[], UnitOfWork],
    *,
    scope: str,
    key: str,
    request: Message,
    response_type: type[R],
    act: Callable[[UnitOfWork], R],
) -> R:
    """Run ``act`` in a unit of work unless ``key`` was used in ``scope``; commit its result with the key.

    Two concurrent calls with one key both act, but only one commits: the other's insert of the key
    conflicts, its transaction rolls back whole, and it answers with the winner's stored result.
    """
    request_hash = _hash(request)
    for _ in range(2):
        with uow_factory() as uow:
            stored = _stored(uow, scope, key, request_hash, response_type)
            if stored is not None:
                return stored
            response = act(uow)
            try:
                uow.session.execute(
                    idempotency.insert().values(
                        scope=scope,
                        key=key,
                        request_hash=request_hash,
                        response=response.SerializeToString(),
                        created_at=utcnow(),
                    )
                )
                uow.commit()
            except IntegrityError:
                continue
            return response
    raise RuntimeError(f"idempotency key {key!r} neither committed nor found")


def _stored(uow: UnitOfWork, scope: str, key: str, request_hash: str, response_type: type[R]) -> R | None:
    row = uow.session.execute(
        select(idempotency.c.request_hash, idempotency.c.response).where(
            idempotency.c.scope == scope, idempotency.c.key == key
        )
    ).first()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise AlreadyExists(f"idempotency key {key!r} was already used for a different request; use a new key")
    response = response_type()
    response.ParseFromString(row.response)
    return response
