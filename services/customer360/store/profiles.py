"""Profiles: one row per customer id, the details as JSON, the value tier and anomaly baselines beside them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    SmallInteger,
    String,
    Table,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import JSON

from services.customer360.domain.profiles import Address, Consents, Details, Profile
from services.customer360.store.schema import insert_new, metadata
from switchboard.db.types import UtcDateTime

profiles = Table(
    "profiles",
    metadata,
    Column("customer_id", String(64), primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("details", JSON, nullable=False),
    # lower(display_name): FindCustomers by name prefix reads this index.
    Column("name_key", String(200), nullable=False),
    Column("tier", SmallInteger, nullable=False),
    Column("contribution_minor", BigInteger, nullable=False),
    Column("tier_changed_at", UtcDateTime, nullable=True),
    # The anomaly detectors' per-customer state, as domain.anomaly.Baselines.to_json() wrote it.
    Column("baselines", Text, nullable=False),
    Column("merged_into", String(64), nullable=True),
    Column("known_from_events", Boolean, nullable=False),
    Column("erased", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("profiles_name_key", "name_key", postgresql_ops={"name_key": "text_pattern_ops"}),
    Index("profiles_merged_into", "merged_into"),
)


def details_to_json(details: Details) -> dict[str, Any]:
    values = asdict(details)
    values["attributes"] = dict(details.attributes)
    return values


def details_of(values: dict[str, Any]) -> Details:
    known = dict(values)
    known["addresses"] = tuple(
        Address(**{**a, "lines": tuple(a.get("lines", ()))}) for a in values.get("addresses", ())
    )
    known["interests"] = tuple(values.get("interests", ()))
    known["purchase_preferences"] = tuple(values.get("purchase_preferences", ()))
    known["consents"] = Consents(**values.get("consents", {}))
    known["attributes"] = dict(values.get("attributes", {}))
    return Details(**known)


_POINTERS = "customer360.merged_into"
"""session.info key: the merge pointers this unit of work has read or written, so that resolving an
event's customer and then finding its group's root read the profile row once, not once per step."""


_BASELINES = "customer360.baselines"
"""session.info key: baselines read unlocked earlier in this unit of work, by customer id."""


def _pointers(session: Session) -> dict[str, str]:
    found: dict[str, str] = session.info.setdefault(_POINTERS, {})
    return found


class ProfileStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, profile: Profile, *, at: datetime) -> bool:
        """Store a new profile; False when the id exists (a concurrent event or call made it first)."""
        made = insert_new(
            self.session,
            profiles,
            {
                "customer_id": profile.customer_id,
                "version": profile.version,
                "details": details_to_json(profile.details),
                "name_key": profile.details.display_name.lower()[:200],
                "tier": profile.tier,
                "contribution_minor": 0,
                "tier_changed_at": None,
                "baselines": "",
                "merged_into": None,
                "known_from_events": profile.known_from_events,
                "erased": False,
                "created_at": at,
                "updated_at": at,
            },
        )
        if made:
            _pointers(self.session)[profile.customer_id] = ""
        return made

    def get(self, customer_id: str, *, lock: bool = False) -> Profile | None:
        query = select(profiles).where(profiles.c.customer_id == customer_id)
        row = self.session.execute(query.with_for_update() if lock else query).first()
        return _profile(row) if row else None

    def merged_into(self, customer_id: str) -> str | None:
        """Whom the profile was merged into ("" when it stands alone), None when there is no such profile;
        the pointer alone, not the details and baselines a whole row carries. Read once per unit of work:
        the pointer changes only through set_merged_into, which keeps the remembered one current."""
        known = _pointers(self.session)
        if customer_id in known:
            return known[customer_id]
        found = self.session.execute(
            select(profiles.c.merged_into).where(profiles.c.customer_id == customer_id)
        ).first()
        if found is None:
            return None
        known[customer_id] = str(found[0] or "")
        return known[customer_id]

    def remember_merged_into(self, customer_id: str, merged_into: str) -> None:
        """A pointer read in this unit of work by another statement (identity resolution's sighting)."""
        _pointers(self.session)[customer_id] = merged_into

    def get_many(self, customer_ids: Iterable[str]) -> list[Profile]:
        ids = sorted(set(customer_ids))
        rows = self.session.execute(select(profiles).where(profiles.c.customer_id.in_(ids))).all()
        return sorted((_profile(r) for r in rows), key=lambda p: ids.index(p.customer_id))

    def save(self, customer_id: str, *, expected_version: int, details: Details, at: datetime, **flags: Any) -> bool:
        """Compare-and-set: write details (and known_from_events / erased flags) as the next version;
        False when the stored version is no longer expected_version."""
        done = self.session.execute(
            update(profiles)
            .where(profiles.c.customer_id == customer_id, profiles.c.version == expected_version)
            .values(
                version=expected_version + 1,
                details=details_to_json(details),
                name_key=details.display_name.lower()[:200],
                updated_at=at,
                **flags,
            )
            .returning(profiles.c.customer_id)
        ).first()
        return done is not None

    def bump(self, customer_id: str, *, at: datetime) -> int:
        """A new version for a change beside the details (identifiers, a merge): the new version."""
        return int(
            self.session.execute(
                update(profiles)
                .where(profiles.c.customer_id == customer_id)
                .values(version=profiles.c.version + 1, updated_at=at)
                .returning(profiles.c.version)
            ).scalar_one()
        )

    def set_merged_into(self, customer_id: str, survivor_id: str | None, *, at: datetime) -> None:
        self.session.execute(
            update(profiles)
            .where(profiles.c.customer_id == customer_id)
            .values(merged_into=survivor_id, version=profiles.c.version + 1, updated_at=at)
        )
        _pointers(self.session)[customer_id] = survivor_id or ""

    def members_of(self, survivor_ids: Sequence[str]) -> list[str]:
        """The profiles merged directly into any of these."""
        return list(
            self.session.execute(
                select(profiles.c.customer_id).where(profiles.c.merged_into.in_(survivor_ids))
            ).scalars()
        )

    def find_by_name(self, prefix: str, limit: int) -> list[str]:
        key = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return list(
            self.session.execute(
                select(profiles.c.customer_id)
                .where(profiles.c.name_key.like(f"{key}%", escape="\\"), profiles.c.erased.is_(False))
                .order_by(profiles.c.name_key, profiles.c.customer_id)
                .limit(limit)
            ).scalars()
        )

    def value_of(self, customer_id: str) -> tuple[int, int, datetime | None]:
        """(tier, contribution_minor, tier_changed_at) as last evaluated."""
        row = self.session.execute(
            select(profiles.c.tier, profiles.c.contribution_minor, profiles.c.tier_changed_at).where(
                profiles.c.customer_id == customer_id
            )
        ).one()
        return int(row.tier), int(row.contribution_minor), row.tier_changed_at

    def set_value(self, customer_id: str, *, tier: int, contribution_minor: int, changed_at: datetime | None) -> None:
        values: dict[str, Any] = {"tier": tier, "contribution_minor": contribution_minor}
        if changed_at is not None:
            values["tier_changed_at"] = changed_at
        self.session.execute(update(profiles).where(profiles.c.customer_id == customer_id).values(**values))

    def baselines_of(self, customer_id: str, *, lock: bool = True) -> str:
        query = select(profiles.c.baselines).where(profiles.c.customer_id == customer_id)
        return str(self.session.execute(query.with_for_update() if lock else query).scalar_one())

    def set_baselines(self, customer_id: str, text: str) -> None:
        self.session.info.get(_BASELINES, {}).pop(customer_id, None)
        self.session.execute(update(profiles).where(profiles.c.customer_id == customer_id).values(baselines=text))

    def remember_baselines(self, customer_id: str, text: str) -> None:
        """The baselines as another statement of this unit of work read them (unlocked): see swap_baselines."""
        self.session.info.setdefault(_BASELINES, {})[customer_id] = text

    def remembered_baselines(self, customer_id: str) -> str | None:
        """What remember_baselines kept (once: a second use reads the row again), None when nothing was."""
        remembered: dict[str, str] = self.session.info.get(_BASELINES, {})
        return remembered.pop(customer_id, None)

    def swap_baselines(self, customer_id: str, expected: str, text: str) -> bool:
        """Compare-and-set: write ``text`` if the stored baselines are still ``expected``; False when another
        transaction changed them first (then read them with a lock and learn again). One statement where
        a locked read and a write are two; it locks the row until commit, as the locked read would have."""
        done = self.session.execute(
            update(profiles)
            .where(profiles.c.customer_id == customer_id, profiles.c.baselines == expected)
            .values(baselines=text)
            .returning(profiles.c.customer_id)
        ).first()
        return done is not None

    def count(self) -> int:
        return int(self.session.execute(select(func.count()).select_from(profiles)).scalar_one())


def _profile(row: Any) -> Profile:
    return Profile(
        customer_id=row.customer_id,
        version=row.version,
        details=details_of(row.details),
        tier=row.tier,
        merged_into=row.merged_into or "",
        known_from_events=row.known_from_events,
        erased=row.erased,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
