"""Customer-360's own knobs, from SWITCHBOARD_CUSTOMER360_* environment variables, checked once at start.

The use cases read ``load()``; the domain never does (values are passed in), so it stays pure.
The tier thresholds and part costs are parsed (and refused with the reason) by the value use
cases, which the service checks at start: config and domain are independent layers. Tests change
a value with the environment and ``load.cache_clear()``, or pass the value directly.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import phonenumbers
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from switchboard.settings import service_settings


class Customer360Config(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_CUSTOMER360_", extra="ignore", frozen=True)

    default_region: str = Field(
        "DE", description="Region (ISO 3166-1 alpha-2) of phone numbers written without a country code."
    )
    currency: str = Field("EUR", pattern="^[A-Z]{3}$", description="Value is counted in this currency only.")
    tier_thresholds: str = Field(
        "silver=50000,gold=200000,platinum=1000000",
        description="Contribution (minor units) at which each tier starts; below silver is standard.",
    )
    value_window_days: int = Field(365, ge=1, description="Revenue and cost count over this trailing window.")
    revenue_from: Literal["orders", "payments", "both"] = Field(
        "orders", description="Which events count as revenue (both counts an order and its payment twice)."
    )
    agent_minute_minor: int = Field(120, ge=0, description="Cost of one minute of agent work.")
    technician_minute_minor: int = Field(150, ge=0, description="Cost of one minute of a technician's labour.")
    visit_minor: int = Field(4500, ge=0, description="Fixed cost of one site visit.")
    part_cost_minor: str = Field("", description="Cost per part by SKU: 'PUMP-1=3900,SEAL-7=450'.")
    part_default_minor: int = Field(1500, ge=0, description="Cost of a part not in part_cost_minor.")
    dissatisfied_last_n: int = Field(3, ge=1, description="The dissatisfied flag averages this many latest ratings.")
    dissatisfied_average_at_or_below: float = Field(2.5, ge=1, le=5)
    anomaly_open_ticket: bool = Field(False, description="Ask ticketing to open a proactive ticket per anomaly.")
    recent_timeline: int = Field(20, ge=1, le=100, description="Timeline entries GetCustomerView shows.")

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a region phonenumbers knows (for example DE, GB, US, CN)")
        return value.upper()


@lru_cache(maxsize=1)
def load() -> Customer360Config:
    """The configuration, or a clear message naming the bad or misspelt variable."""
    return service_settings(Customer360Config, "customer360")
