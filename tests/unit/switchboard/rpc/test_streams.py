"""When routing's server streams look again: at once, on a commit-time signal that concerns them, and
never again once their client is gone, which also ends their subscription."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from switchboard import signals
from switchboard.composition import Runtime
from switchboard.rpc.streams import Looks
from switchboard.settings import Settings
from tests.support import wait_for
from tests.unit.builders import ROUTING_MIGRATIONS, OpenDb

CHANNEL = "routing_offers"


class Client:
    """The far end of a stream, as the servicer's context shows it."""

    def __init__(self) -> None:
        self.active = True
        self._gone: list[Callable[[], None]] = []

    def is_active(self) -> bool:
        return self.active

    def add_callback(self, callback: Callable[[], None]) -> bool:
        self._gone.append(callback)
        return True

    def hang_up(self) -> None:
        self.active = False
        for callback in self._gone:
            callback()


@pytest.fixture
def runtime(open_db: OpenDb, settings: Settings) -> Runtime:
    return Runtime(settings=settings, db=open_db("routing", ROUTING_MIGRATIONS))


def _signal(runtime: Runtime, payload: str) -> None:
    with runtime.uow() as uow:
        signals.notify_on_commit(uow, CHANNEL, payload)
        uow.commit()


class Watching:
    """Looks iterated in the background, as a servicer's stream does; each look is timed."""

    def __init__(self, runtime: Runtime, client: Client, concerns: Callable[[str], bool]) -> None:
        self.looked: list[float] = []
        self.asked: list[str] = []
        self._looks = Looks(runtime.db, CHANNEL, client, self._concerns(concerns))  # type: ignore[arg-type]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _concerns(self, concerns: Callable[[str], bool]) -> Callable[[str], bool]:
        def asked(payload: str) -> bool:
            self.asked.append(payload)
            return concerns(payload)

        return asked

    def _run(self) -> None:
        with self._looks as looks:
            for _ in looks:
                self.looked.append(time.monotonic())

    def ended(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()


def test_a_stream_looks_at_once_and_again_within_100_ms_of_a_signal_that_concerns_it(runtime: Runtime) -> None:
    client = Client()
    watching = Watching(runtime, client, concerns=lambda payload: payload == "alice")
    wait_for(lambda: len(watching.looked) == 1, interval=0.005, what="the first look")

    signalled = time.monotonic()
    _signal(runtime, "alice")
    wait_for(lambda: len(watching.looked) == 2, interval=0.005, what="the look the signal asks for")
    client.hang_up()

    assert watching.looked[1] - signalled < 0.1
    assert watching.ended(timeout=1)


def test_a_stream_whose_client_went_away_stops_at_once_and_stops_listening(runtime: Runtime) -> None:
    client = Client()
    watching = Watching(runtime, client, concerns=lambda payload: True)
    wait_for(lambda: len(watching.looked) == 1, interval=0.005, what="the first look")

    hung_up = time.monotonic()
    client.hang_up()
    ended = watching.ended(timeout=1)
    stopped_after = time.monotonic() - hung_up
    _signal(runtime, "alice")

    assert ended
    assert stopped_after < 0.5  # not at the next recheck, a second later
    assert watching.asked == []
