"""Each recipient's preferences, kept as one JSON document per recipient."""

from __future__ import annotations

from dataclasses import replace
from datetime import time, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from services.notifications.domain.preferences import Cap, Preferences, QuietHours
from services.notifications.store.schema import preferences
from switchboard.db.types import utcnow


def document_of(prefs: Preferences) -> dict[str, Any]:
    quiet = prefs.quiet_hours
    return {
        "channels": {category: list(channels) for category, channels in sorted(prefs.channels.items())},
        "quiet_hours": None
        if quiet is None
        else {"start": quiet.start.strftime("%H:%M"), "end": quiet.end.strftime("%H:%M"), "time_zone": quiet.time_zone},
        "caps": {category: [cap.max_count, cap.per_seconds] for category, cap in sorted(prefs.caps.items())},
        "digest_priorities": sorted(prefs.digest_priorities),
        "digest_every_seconds": int(prefs.digest_every.total_seconds()),
    }


def preferences_of(recipient_id: str, document: dict[str, Any], version: int) -> Preferences:
    quiet = document.get("quiet_hours")
    return Preferences(
        recipient_id=recipient_id,
        channels={category: tuple(channels) for category, channels in document.get("channels", {}).items()},
        quiet_hours=None
        if not quiet
        else QuietHours(
            start=time.fromisoformat(quiet["start"]), end=time.fromisoformat(quiet["end"]), time_zone=quiet["time_zone"]
        ),
        caps={
            category: Cap(max_count=pair[0], per_seconds=pair[1]) for category, pair in document.get("caps", {}).items()
        },
        digest_priorities=frozenset(document.get("digest_priorities", ["low"])),
        digest_every=timedelta(seconds=document.get("digest_every_seconds", 4 * 3600)),
        version=version,
    )


class PreferenceStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, recipient_id: str) -> Preferences | None:
        row = self.session.execute(select(preferences).where(preferences.c.recipient_id == recipient_id)).first()
        return None if row is None else preferences_of(recipient_id, row.document, row.version)

    def put(self, prefs: Preferences, *, expected_version: int) -> Preferences | None:
        """Create (expected 0) or compare-and-set; None when the version read is stale."""
        values = {"document": document_of(prefs), "updated_at": utcnow()}
        if expected_version == 0:
            if self.get(prefs.recipient_id) is not None:
                return None
            self.session.execute(insert(preferences).values(recipient_id=prefs.recipient_id, version=1, **values))
            return replace(prefs, version=1)
        done = self.session.execute(
            update(preferences)
            .where(preferences.c.recipient_id == prefs.recipient_id, preferences.c.version == expected_version)
            .values(version=expected_version + 1, **values)
            .returning(preferences.c.version)
        ).first()
        return None if done is None else replace(prefs, version=expected_version + 1)

    def remove(self, recipient_id: str) -> None:
        self.session.execute(delete(preferences).where(preferences.c.recipient_id == recipient_id))
