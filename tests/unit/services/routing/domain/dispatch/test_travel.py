"""Travel times: straight-line estimates for real Berlin places, and a precomputed matrix as the plug-in."""

from __future__ import annotations

import pytest

from services.routing.domain.dispatch import StraightLine, TravelMatrix, great_circle_km
from services.routing.domain.workers import Location
from tests.unit.services.routing.domain.dispatch.berlin import (
    BRANDENBURG_GATE,
    HAUPTBAHNHOF,
    SPANDAU,
    TV_TOWER,
)

MUNICH_HAUPTBAHNHOF = Location(48.140232, 11.558335)


def test_the_brandenburg_gate_is_2_2_km_from_the_tv_tower_as_the_crow_flies() -> None:
    assert great_circle_km(BRANDENBURG_GATE, TV_TOWER) == pytest.approx(2.20, abs=0.01)


def test_berlin_and_munich_main_stations_are_504_km_apart_as_the_crow_flies() -> None:
    assert great_circle_km(HAUPTBAHNHOF, MUNICH_HAUPTBAHNHOF) == pytest.approx(504.2, abs=0.5)


def test_by_default_a_van_takes_the_crow_flight_times_1_3_at_40_km_h() -> None:
    travel = StraightLine()

    # 2.2 km straight, 2.87 km by road, 4.3 minutes at 40 km/h.
    assert travel.kilometres(BRANDENBURG_GATE, TV_TOWER) == pytest.approx(2.866, abs=0.005)
    assert travel.minutes(BRANDENBURG_GATE, TV_TOWER) == pytest.approx(4.30, abs=0.01)


def test_slower_traffic_and_winding_roads_take_longer() -> None:
    assert StraightLine(detour_factor=1.5, speed_kmh=20).minutes(BRANDENBURG_GATE, TV_TOWER) == pytest.approx(
        9.92, abs=0.01
    )


def test_the_whole_matrix_agrees_with_the_pairs_and_is_zero_in_place() -> None:
    travel = StraightLine()
    points = [BRANDENBURG_GATE, TV_TOWER, SPANDAU]

    matrix = travel.matrix(points)

    for i, a in enumerate(points):
        for j, b in enumerate(points):
            assert matrix[i][j] == pytest.approx(travel.minutes(a, b), abs=1e-9)
    assert [matrix[i][i] for i in range(3)] == [0.0, 0.0, 0.0]


def test_a_precomputed_matrix_answers_for_its_points_and_asks_the_fallback_about_others() -> None:
    # Minutes a routing engine returned; the gate to the tower is slower by road at rush hour.
    travel = TravelMatrix([BRANDENBURG_GATE, TV_TOWER], [[0, 11.5], [9.0, 0]], fallback=StraightLine())

    assert travel.minutes(BRANDENBURG_GATE, TV_TOWER) == 11.5
    assert travel.minutes(TV_TOWER, BRANDENBURG_GATE) == 9.0
    assert travel.minutes(TV_TOWER, SPANDAU) == pytest.approx(StraightLine().minutes(TV_TOWER, SPANDAU))
    assert travel.matrix([TV_TOWER, BRANDENBURG_GATE]) == [[0, 9.0], [11.5, 0]]


def test_a_precomputed_matrix_without_a_fallback_refuses_a_place_it_does_not_know() -> None:
    travel = TravelMatrix([BRANDENBURG_GATE, TV_TOWER], [[0, 11.5], [9.0, 0]])

    with pytest.raises(KeyError, match="no travel time"):
        travel.minutes(BRANDENBURG_GATE, SPANDAU)


def test_a_precomputed_matrix_must_be_square_and_not_negative() -> None:
    with pytest.raises(ValueError, match="2x2"):
        TravelMatrix([BRANDENBURG_GATE, TV_TOWER], [[0, 1]])
    with pytest.raises(ValueError, match="negative"):
        TravelMatrix([BRANDENBURG_GATE, TV_TOWER], [[0, -1], [1, 0]])
