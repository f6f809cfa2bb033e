"""Fixtures: settings for a run, real PostgreSQL databases and RabbitMQ vhosts, a running suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from switchboard import logs
from switchboard.composition import ServiceDefinition, load_services
from switchboard.rpc import auth
from switchboard.runner import ROLES, Suite
from switchboard.settings import Settings
from tests import support

TEST_SECRET = "test-secret-not-for-production-0123456789"


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "base_port": support.free_base_port(),
        "auth_secret": TEST_SECRET,
        "handler_backoff": 0.01,
        "handler_backoff_max": 0.05,
        "log_format": "json",
        # Threads outlive pytest's capture phases; INFO lines would litter the test report.
        "log_level": "WARNING",
        "shutdown_grace": 0.5,
    }
    values.update(overrides)
    settings = Settings(**values)
    logs.configure(settings)
    return settings


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    return lambda **overrides: make_settings(tmp_path / "var", **overrides)


@pytest.fixture(scope="session")
def postgres() -> None:
    support.require_postgres()


@pytest.fixture(scope="session")
def rabbitmq() -> None:
    support.require_rabbitmq()


@pytest.fixture
def pg_url(postgres: None) -> Iterator[str]:
    with support.postgres_database() as url:
        yield url


@pytest.fixture
def amqp_url(rabbitmq: None) -> Iterator[str]:
    with support.rabbitmq_vhost() as url:
        yield url


@pytest.fixture
def start_suite() -> Iterator[Callable[..., Suite]]:
    """Start Suite(s) in this process; every one is stopped at the end of the test."""
    started: list[Suite] = []

    def start(
        settings: Settings,
        services: list[str] | None = None,
        roles: tuple[str, ...] = ROLES,
        definitions: list[ServiceDefinition] | None = None,
    ) -> Suite:
        suite = Suite(settings, definitions if definitions is not None else load_services(services), roles=roles)
        started.append(suite)
        suite.start()
        return suite

    yield start
    for suite in reversed(started):
        suite.stop()


def token_for(settings: Settings, *roles: str, subject: str = "alice") -> str:
    return auth.issue(settings, subject, roles or (auth.AGENT,))
