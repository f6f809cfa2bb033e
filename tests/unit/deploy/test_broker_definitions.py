"""The broker definitions in deploy/ give each service's user exactly what its subscriptions need."""

from __future__ import annotations

import json
import re

import pytest

from switchboard.bus.topology import dead_letter_queue, exchange_name, screen_queue
from switchboard.composition import ServiceDefinition, load_services
from tests.unit.builders import ROOT

DEFINITIONS = json.loads((ROOT / "deploy" / "rabbitmq" / "definitions.json").read_text())


def _permissions(user: str) -> dict[str, str]:
    (found,) = [p for p in DEFINITIONS["permissions"] if p["user"] == user]
    return found


@pytest.mark.parametrize("definition", load_services(), ids=lambda d: d.name)
def test_a_service_may_declare_and_read_every_queue_and_exchange_it_subscribes_to(
    definition: ServiceDefinition,
) -> None:
    permissions = _permissions(definition.name)
    needed = [(s.exchange, s.queue(definition.name)) for s in definition.subscriptions] + [
        (exchange_name(source), screen_queue(source, definition.name)) for source in definition.screens
    ]
    for pair in needed:
        for resource in pair:
            assert re.fullmatch(permissions["configure"], resource), f"{definition.name} cannot declare {resource}"
            assert re.fullmatch(permissions["read"], resource), f"{definition.name} cannot read {resource}"
    assert re.fullmatch(permissions["write"], f"{definition.name}.events")
    assert re.fullmatch(permissions["configure"], dead_letter_queue(definition.name))


def test_every_source_exchange_is_defined() -> None:
    from switchboard.catalog import EVENT_TYPES

    defined = {e["name"] for e in DEFINITIONS["exchanges"]}
    assert {f"{e.source}.events" for e in EVENT_TYPES.values()} <= defined
