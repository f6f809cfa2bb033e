"""Travel times between places, pluggable: straight-line estimates by default, a routing engine's matrix when known.

Dispatch only ever asks "how many minutes from here to there?", one pair at a time when recommending and
as a whole matrix when planning a day. Anything that answers both fits, so a road-network source (OSRM,
Valhalla, a vendor's distance-matrix API, queried ahead by the service) plugs in as a
:class:`TravelMatrix` without the dispatch core knowing where the numbers came from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from services.routing.domain.workers import Location

# Mean Earth radius (IUGG), in kilometres.
EARTH_RADIUS_KM = 6371.0088


class TravelTimes(Protocol):
    def minutes(self, a: Location, b: Location) -> float:
        """Driving minutes from ``a`` to ``b``."""
        ...

    def matrix(self, points: Sequence[Location]) -> list[list[float]]:
        """Driving minutes between every pair: ``result[i][j]`` from ``points[i]`` to ``points[j]``."""
        ...


def great_circle_km(a: Location, b: Location) -> float:
    """Haversine distance over the Earth's surface."""
    lat_a, lat_b = math.radians(a.latitude), math.radians(b.latitude)
    d_lat = lat_b - lat_a
    d_lon = math.radians(b.longitude - a.longitude)
    h = math.sin(d_lat / 2) ** 2 + math.cos(lat_a) * math.cos(lat_b) * math.sin(d_lon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


@dataclass(frozen=True)
class StraightLine:
    """Great-circle distance, stretched to a road distance, at an average door-to-door speed.

    ``detour_factor`` is road distance over straight-line distance, the circuity factor measured per
    country by Ballou, Rahardja and Sakai ("Selected country circuity factors for road travel distance
    estimation", Transportation Research Part A 36(9), 2002); 1.3 is our default for mixed urban and
    regional roads. ``speed_kmh`` is the average over a whole trip, parking included: 40 km/h for a van
    in and around a city. Both are estimates: calibrate them per region against real trips.
    """

    detour_factor: float = 1.3
    speed_kmh: float = 40.0

    def __post_init__(self) -> None:
        if self.detour_factor < 1 or self.speed_kmh <= 0:
            raise ValueError("detour_factor must be at least 1 and speed_kmh positive")

    def kilometres(self, a: Location, b: Location) -> float:
        """The estimated road distance."""
        return great_circle_km(a, b) * self.detour_factor

    def minutes(self, a: Location, b: Location) -> float:
        return self.kilometres(a, b) / self.speed_kmh * 60

    def matrix(self, points: Sequence[Location]) -> list[list[float]]:
        # Vectorised: a day's plan asks for hundreds of thousands of pairs at once.
        lat = np.radians([p.latitude for p in points])
        lon = np.radians([p.longitude for p in points])
        d_lat = lat[:, None] - lat[None, :]
        d_lon = lon[:, None] - lon[None, :]
        h = np.sin(d_lat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(d_lon / 2) ** 2
        km = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(1.0, h)))
        minutes: list[list[float]] = (km * self.detour_factor / self.speed_kmh * 60).tolist()
        return minutes


class TravelMatrix:
    """Minutes between known points, computed ahead (by a routing engine, say).

    A pair it does not know goes to ``fallback`` when one is given (a new address not yet in the
    matrix), and is an error otherwise.
    """

    def __init__(
        self, points: Sequence[Location], minutes: Sequence[Sequence[float]], fallback: TravelTimes | None = None
    ) -> None:
        if len(minutes) != len(points) or any(len(row) != len(points) for row in minutes):
            raise ValueError(f"expected a {len(points)}x{len(points)} matrix of minutes")
        if any(value < 0 for row in minutes for value in row):
            raise ValueError("travel minutes cannot be negative")
        self._index = {point: i for i, point in enumerate(points)}
        if len(self._index) != len(points):
            raise ValueError("points must be distinct")
        self._minutes = [list(row) for row in minutes]
        self._fallback = fallback

    def minutes(self, a: Location, b: Location) -> float:
        i, j = self._index.get(a), self._index.get(b)
        if i is not None and j is not None:
            return self._minutes[i][j]
        if a == b:
            return 0.0
        if self._fallback is None:
            raise KeyError(f"no travel time from {a} to {b}")
        return self._fallback.minutes(a, b)

    def matrix(self, points: Sequence[Location]) -> list[list[float]]:
        return [[self.minutes(a, b) for b in points] for a in points]
