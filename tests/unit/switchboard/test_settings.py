"""Settings fail fast on a configuration that cannot work, and the embedded default needs none."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from switchboard.settings import Settings, service_settings, unknown_variables

SECRET = "a-deployment-secret-of-more-than-32-bytes"
PG_URL = "postgresql+psycopg://switchboard@db.internal:5432/switchboard"
AMQP_URL = "amqp://switchboard:s3cret@mq.internal:5672/switchboard"


def test_a_database_url_without_an_auth_secret_fails_naming_switchboard_auth_secret(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="SWITCHBOARD_AUTH_SECRET must be set"):
        Settings(data_dir=tmp_path, database_url=PG_URL)


def test_a_broker_url_without_an_auth_secret_fails_naming_switchboard_auth_secret(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="SWITCHBOARD_AUTH_SECRET must be set"):
        Settings(data_dir=tmp_path, broker_url=AMQP_URL)


def test_a_database_and_broker_url_with_an_auth_secret_are_accepted(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=PG_URL, broker_url=AMQP_URL, auth_secret=SECRET)

    assert not settings.embedded
    assert settings.signing_key() == SECRET


def test_a_database_url_that_is_not_postgresql_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="must be a PostgreSQL URL"):
        Settings(
            data_dir=tmp_path, database_url="mysql+pymysql://switchboard@db.internal/switchboard", auth_secret=SECRET
        )


def test_an_auth_secret_shorter_than_32_bytes_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="SWITCHBOARD_AUTH_SECRET must be at least 32 bytes"):
        Settings(data_dir=tmp_path, auth_secret="hunter2")


def test_settings_are_read_from_switchboard_environment_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWITCHBOARD_BASE_PORT", "61000")
    monkeypatch.setenv("SWITCHBOARD_HANDLER_ATTEMPTS", "7")

    settings = Settings(data_dir=tmp_path)

    assert (settings.base_port, settings.handler_attempts) == (61000, 7)


def test_without_a_broker_url_events_travel_on_the_embedded_bus(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).embedded


def test_each_service_listens_on_the_base_port_plus_its_offset(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path, base_port=50051).port_of(1) == 50052


def test_the_embedded_signing_key_is_created_in_data_dir_auth_secret(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"

    key = Settings(data_dir=data_dir).signing_key()

    assert (data_dir / "auth.secret").read_text().strip() == key
    assert len(key.encode()) >= 32


def test_the_embedded_signing_key_is_kept_from_one_start_to_the_next(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).signing_key()

    second = Settings(data_dir=tmp_path).signing_key()

    assert second == first


def test_the_embedded_signing_key_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    Settings(data_dir=tmp_path).signing_key()

    mode = (tmp_path / "auth.secret").stat().st_mode

    assert mode & (stat.S_IRWXG | stat.S_IRWXO) == 0


def test_an_auth_secret_is_used_as_given_and_no_key_file_is_written(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path, auth_secret=SECRET).signing_key() == SECRET
    assert not (tmp_path / "auth.secret").exists()


def test_a_misspelled_variable_is_named_instead_of_ignored() -> None:
    from switchboard.settings import unknown_variables

    environ = {"SWITCHBOARD_BROKER_URI": "amqp://x", "SWITCHBOARD_BASE_PORT": "50051", "SWITCHBOARD_TOKEN": "t"}

    assert unknown_variables(environ) == ["SWITCHBOARD_BROKER_URI"]


class _Desk(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_CUSTOMER360_", frozen=True)

    currency: str = Field("EUR", pattern="^[A-Z]{3}$")


def test_a_services_own_variables_are_left_to_it_and_read_by_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_CUSTOMER360_CURRENCY", "CHF")

    assert unknown_variables(dict(os.environ)) == []
    assert service_settings(_Desk, "customer360").currency == "CHF"


def test_a_misspelt_service_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_CUSTOMER360_CURENCY", "CHF")

    with pytest.raises(ValueError, match=r"customer360: unknown setting\(s\) SWITCHBOARD_CUSTOMER360_CURENCY"):
        service_settings(_Desk, "customer360")


def test_a_bad_service_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_CUSTOMER360_CURRENCY", "euro")

    with pytest.raises(ValueError, match=r"customer360: bad settings[\s\S]*currency"):
        service_settings(_Desk, "customer360")
