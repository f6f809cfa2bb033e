"""Dispatch of repair technicians: recommending who should take a work order, and planning their days.

Pure and deterministic like the rest of routing's domain: no I/O, time passed in, travel times from an
injected :class:`TravelTimes`. Recommendations are computed directly (recommend.py); day plans are
solved with PyVRP (planning.py, vrp.py).
"""

from services.routing.domain.dispatch.jobs import Job, Visit
from services.routing.domain.dispatch.planning import (
    Move,
    Plan,
    PlannedVisit,
    Replan,
    TechnicianDay,
    Unassigned,
    plan,
    plan_day,
    replan,
)
from services.routing.domain.dispatch.recommend import EMERGENCY, STANDARD, Recommendation, Weights, recommend
from services.routing.domain.dispatch.travel import StraightLine, TravelMatrix, TravelTimes, great_circle_km

__all__ = [
    "EMERGENCY",
    "STANDARD",
    "Job",
    "Move",
    "Plan",
    "PlannedVisit",
    "Recommendation",
    "Replan",
    "StraightLine",
    "TechnicianDay",
    "TravelMatrix",
    "TravelTimes",
    "Unassigned",
    "Visit",
    "Weights",
    "great_circle_km",
    "plan",
    "plan_day",
    "recommend",
    "replan",
]
