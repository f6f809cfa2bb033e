"""Recipients and the teams they supervise."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.orm import Session

from services.notifications.domain.recipients import Recipient
from services.notifications.store.schema import recipient_teams, recipients
from switchboard.db.types import utcnow


def _recipient(row: Row[Any], teams: frozenset[str]) -> Recipient:
    return Recipient(
        recipient_id=row.recipient_id,
        kind=row.kind,
        name=row.name,
        emails=tuple(row.emails),
        phones=tuple(row.phones),
        chat_url=row.chat_url,
        webhook_url=row.webhook_url,
        locale=row.locale,
        time_zone=row.time_zone,
        supervises=teams,
        consents=frozenset(row.consents),
        account_owner=row.account_owner,
        merged_into=row.merged_into,
        version=row.version,
    )


def _values(recipient: Recipient) -> dict[str, Any]:
    return {
        "kind": recipient.kind,
        "name": recipient.name,
        "emails": list(recipient.emails),
        "phones": list(recipient.phones),
        "chat_url": recipient.chat_url,
        "webhook_url": recipient.webhook_url,
        "locale": recipient.locale,
        "time_zone": recipient.time_zone,
        "consents": sorted(recipient.consents),
        "account_owner": recipient.account_owner,
        "merged_into": recipient.merged_into,
        "updated_at": utcnow(),
    }


class RecipientStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, recipient_id: str) -> Recipient | None:
        row = self.session.execute(select(recipients).where(recipients.c.recipient_id == recipient_id)).first()
        if row is None:
            return None
        teams = self.session.execute(
            select(recipient_teams.c.team).where(recipient_teams.c.recipient_id == recipient_id)
        ).scalars()
        return _recipient(row, frozenset(teams))

    def source_version(self, recipient_id: str) -> int | None:
        found: int | None = self.session.execute(
            select(recipients.c.source_version).where(recipients.c.recipient_id == recipient_id)
        ).scalar()
        return found

    def supervisors_of(self, team: str) -> list[str]:
        return list(
            self.session.execute(
                select(recipient_teams.c.recipient_id)
                .where(recipient_teams.c.team == team)
                .order_by(recipient_teams.c.recipient_id)
            ).scalars()
        )

    def add(self, recipient: Recipient, *, source_version: int = 0) -> Recipient:
        self.session.execute(
            insert(recipients).values(
                recipient_id=recipient.recipient_id, version=1, source_version=source_version, **_values(recipient)
            )
        )
        self._teams(recipient)
        return self._stored(recipient, 1)

    def replace(self, recipient: Recipient, *, expected_version: int, source_version: int = 0) -> Recipient | None:
        """Compare-and-set on version: None when the stored one moved on meanwhile."""
        done = self.session.execute(
            update(recipients)
            .where(recipients.c.recipient_id == recipient.recipient_id, recipients.c.version == expected_version)
            .values(version=expected_version + 1, source_version=source_version, **_values(recipient))
            .returning(recipients.c.version)
        ).first()
        if done is None:
            return None
        self._teams(recipient)
        return self._stored(recipient, expected_version + 1)

    def remove(self, recipient_id: str) -> bool:
        self.session.execute(delete(recipient_teams).where(recipient_teams.c.recipient_id == recipient_id))
        gone = self.session.execute(
            delete(recipients).where(recipients.c.recipient_id == recipient_id).returning(recipients.c.recipient_id)
        ).first()
        return gone is not None

    def _teams(self, recipient: Recipient) -> None:
        self.session.execute(delete(recipient_teams).where(recipient_teams.c.recipient_id == recipient.recipient_id))
        if recipient.supervises:
            self.session.execute(
                insert(recipient_teams),
                [{"team": team, "recipient_id": recipient.recipient_id} for team in sorted(recipient.supervises)],
            )

    @staticmethod
    def _stored(recipient: Recipient, version: int) -> Recipient:
        return replace(recipient, version=version)
