from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from switchboard.settings import Settings
from tests import support
from tests.conftest import token_for


@pytest.fixture
def api_factory() -> Iterator[Callable[..., support.Api]]:
    opened: list[support.Api] = []

    def open_api(settings: Settings, *roles: str) -> support.Api:
        api = support.Api(settings.host, settings.base_port, token_for(settings, *roles))
        opened.append(api)
        return api

    yield open_api
    for api in opened:
        api.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
