"""Notifications' own knobs, from the environment (prefix ``SWITCHBOARD_NOTIFICATIONS_``), checked once.

The chassis Settings stays service-agnostic; what only notifications needs lives here. Use cases and
the deliverer read ``load()``; tests override through the environment and ``load.cache_clear()``, or
build a ``NotificationsConfig(...)`` and pass it in.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from switchboard.settings import service_settings


class NotificationsConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_NOTIFICATIONS_", extra="ignore", frozen=True)

    # Email over SMTP.
    smtp_host: str = Field("127.0.0.1", description="SMTP server that relays the suite's email.")
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_sender: str = Field("Switchboard <noreply@switchboard.invalid>", description="From: of every email.")
    smtp_starttls: bool = Field(False, description="Upgrade the connection with STARTTLS before sending.")
    smtp_implicit_tls: bool = Field(False, description="Speak TLS from the first byte (SMTPS, port 465).")
    smtp_username: str | None = Field(None, description="SMTP AUTH user; unset: no authentication.")
    smtp_password: SecretStr | None = None
    smtp_timeout: float = Field(10.0, gt=0, description="Seconds before an SMTP conversation counts as down.")
    # SMS and chat through Apprise: "{address}" is replaced by the recipient's phone or chat handle.
    sms_url_template: str = Field(
        "",
        description="Apprise URL for SMS with {address} for the E.164 number, e.g. "
        "'twilio://SID:TOKEN@+15550100/{address}'. Empty: SMS is not configured (sends fail permanently).",
    )
    chat_url_template: str = Field(
        "{address}",
        description="Apprise URL for chat apps with {address}; the default treats the recipient's chat "
        "address as a complete Apprise URL (slack://..., mmost://..., tgram://...).",
    )
    webhook_url_template: str = Field(
        "{address}",
        description="Apprise URL for webhooks with {address}; the default posts JSON to the recipient's own "
        "webhook URL (http(s):// or json:// ...).",
    )
    webhook_timeout: float = Field(10.0, gt=0, description="Seconds before a webhook receiver counts as down.")

    # Delivery.
    # NoDecode: the environment gives "5,30,120", not JSON.
    retry_schedule: Annotated[tuple[float, ...], NoDecode] = Field(
        (5.0, 30.0, 120.0, 600.0, 1800.0),
        description="Seconds before each retry of a transient failure (comma-separated in the "
        "environment); the last figure repeats.",
    )
    retry_jitter: float = Field(0.2, ge=0, le=1, description="Each delay varies by up to this share, up or down.")
    max_attempts: int = Field(6, ge=1, description="Tries of one notification before it is failed (dead-lettered).")
    deliverer_batch: int = Field(64, ge=1, description="Due notifications one pass of the deliverer claims.")
    deliverer_threads: int = Field(8, ge=1, description="Sends in flight at once per deliverer.")
    claim_seconds: float = Field(
        60.0, gt=0, description="How long a claimed notification is held by a deliverer before another may take it."
    )

    # Digest of low-priority messages.
    digest_every_seconds: int = Field(
        4 * 3600, ge=60, description="Default digest period for recipients whose preferences name none."
    )

    # Links in messages.
    survey_link_base_url: str = Field(
        "https://survey.switchboard.invalid/t/",
        description="The satisfaction survey: the ticket id is appended (ticket.resolved).",
    )

    @field_validator("retry_schedule", mode="before")
    @classmethod
    def _schedule(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return tuple(float(part) for part in value.split(",") if part.strip())
            except ValueError:
                raise ValueError("retry_schedule: comma-separated seconds, e.g. '5,30,120'") from None
        return value

    @field_validator("retry_schedule")
    @classmethod
    def _not_empty(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(v < 0 for v in value):
            raise ValueError("retry_schedule needs at least one non-negative delay")
        return value


@lru_cache(maxsize=1)
def load() -> NotificationsConfig:
    """The configuration, read once; a bad or misspelt variable stops the service at start-up with the reason."""
    return service_settings(NotificationsConfig, "notifications")
