"""Settings from the environment (prefix ``SWITCHBOARD_``), checked once at start-up."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", extra="ignore", frozen=True)

    data_dir: Path = Field(Path("var"), description="Where the embedded default keeps its SQLite files.")
    database_url: str | None = Field(
        None,
        description="PostgreSQL URL (postgresql+psycopg://...); each service uses its own schema. "
        "Unset: one SQLite file per service under data_dir.",
    )
    broker_url: str | None = Field(
        None, description="RabbitMQ URL (amqp://user:pass@host:5672/vhost). Unset: the in-process bus."
    )
    host: str = Field("127.0.0.1", description="Address the gRPC servers listen on.")
    base_port: int = Field(50051, ge=1, le=65500, description="ticketing listens here, routing +1, ...")
    auth_secret: SecretStr | None = Field(
        None,
        description="HMAC key that signs bearer tokens. Unset on the embedded default: a random key "
        "kept in data_dir/auth.secret. Required when a database or broker URL is set.",
    )
    token_issuer: str = "switchboard"
    reflection: bool = Field(True, description="Serve gRPC reflection (turn off in production if wanted).")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    grpc_workers: int = Field(16, ge=1, description="Threads per gRPC server.")
    shutdown_grace: float = Field(5.0, ge=0, description="Seconds in-flight calls get at shutdown.")
    client_deadline: float = Field(10.0, gt=0, description="Deadline of a client call that has no other.")
    handler_attempts: int = Field(4, ge=1, description="Tries of an event handler before dead-lettering.")
    handler_backoff: float = Field(0.2, ge=0, description="First retry delay in seconds; doubles each try.")
    handler_backoff_max: float = Field(5.0, ge=0)
    delivery_limit: int = Field(
        10, ge=1, description="Broker-side redeliveries (crashes included) before a message is dead-lettered."
    )
    prefetch: int = Field(32, ge=1, description="Unacknowledged messages per consumer thread.")
    consumer_threads: int = Field(
        8,
        ge=1,
        description="Consumer threads per service, each with its own connection. Each mostly waits on its "
        "database round trips and commit, so fewer than about 8 cannot keep up with one relay.",
    )
    reopen_window_days: int = Field(
        14, ge=0, description="Days after resolution in which a customer or agent may reopen a ticket."
    )
    sticky_days: int = Field(
        30, ge=0, description="Days a customer's last agent stays the one routing tries first for their next request."
    )
    matcher_lease_seconds: float = Field(
        10.0,
        gt=0,
        description="How long routing's matcher lease lasts unrenewed: after a matcher dies, another takes over "
        "this much later.",
    )
    relay_batch: int = Field(200, ge=1, description="Outbox rows published per relay transaction.")
    relay_poll: float = Field(
        1.0,
        gt=0,
        description="Seconds an idle relay waits before looking again; commits wake it at once "
        "(in-process, or by PostgreSQL NOTIFY), so this is only the safety net.",
    )

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        if (self.database_url or self.broker_url) and self.auth_secret is None:
            raise ValueError(
                "SWITCHBOARD_AUTH_SECRET must be set when SWITCHBOARD_DATABASE_URL or "
                "SWITCHBOARD_BROKER_URL is: every process must verify tokens with the same key"
            )
        if self.auth_secret is not None and len(self.auth_secret.get_secret_value().encode()) < 32:
            raise ValueError("SWITCHBOARD_AUTH_SECRET must be at least 32 bytes (HS256 needs a 256-bit key)")
        if self.database_url and not self.database_url.startswith("postgresql"):
            raise ValueError("SWITCHBOARD_DATABASE_URL must be a PostgreSQL URL (postgresql+psycopg://...)")
        return self

    @property
    def embedded(self) -> bool:
        """No broker: events travel on the in-process bus."""
        return self.broker_url is None

    def port_of(self, offset: int) -> int:
        return self.base_port + offset

    def signing_key(self) -> str:
        if self.auth_secret is not None:
            return self.auth_secret.get_secret_value()
        path = self.data_dir / "auth.secret"
        if not path.exists():
            # Written aside, then linked into place: two processes starting at once agree on one key.
            self.data_dir.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f".auth.secret.{os.getpid()}")
            draft.touch(mode=0o600)
            draft.write_text(secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
            draft.unlink()
        return path.read_text().strip()


# Read by the command line, not by the servers.
_NOT_SETTINGS = frozenset({"SWITCHBOARD_TOKEN"})
# A service's own knobs live under SWITCHBOARD_<SERVICE>_ (its config.py, read with service_settings), which
# checks them for misspellings itself.
SERVICE_NAMESPACES = ("TICKETING", "ROUTING", "CUSTOMER360", "NOTIFICATIONS")
_S = TypeVar("_S", bound=BaseSettings)


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """SWITCHBOARD_* variables that name no setting: a misspelling would otherwise pass unnoticed."""
    known = {f"SWITCHBOARD_{name.upper()}" for name in Settings.model_fields} | _NOT_SETTINGS
    namespaces = tuple(f"SWITCHBOARD_{service}_" for service in SERVICE_NAMESPACES)
    return sorted(
        k
        for k in environ
        if k.upper().startswith("SWITCHBOARD_") and k.upper() not in known and not k.upper().startswith(namespaces)
    )


def service_settings(model: type[_S], service: str) -> _S:
    """A service's own settings from SWITCHBOARD_<SERVICE>_* (the model's env_prefix), or ValueError naming
    the bad or misspelt variable: the process must not start with it."""
    prefix = f"SWITCHBOARD_{service.upper()}_"
    if model.model_config.get("env_prefix") != prefix:
        raise TypeError(f"{model.__name__} must read {prefix}* (env_prefix)")
    known = {f"{prefix}{name.upper()}" for name in model.model_fields}
    unknown = sorted(k for k in os.environ if k.upper().startswith(prefix) and k.upper() not in known)
    if unknown:
        raise ValueError(f"{service}: unknown setting(s) {', '.join(unknown)}; see services/{service}/README.md")
    try:
        return model()
    except ValidationError as exc:
        raise ValueError(f"{service}: bad settings ({prefix}* variables):\n{exc}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    unknown = unknown_variables(os.environ)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(unknown)}; see the settings table in README.md")
    return Settings()
