"""The activities service's own tenant settings: models and rules (no I/O).

`time_zone` (an IANA name, default UTC) is the zone the tenant's weeks, months and days are in:
the ISO weeks of points and goals, the periods of sales targets and the days of marketing
statistics. Timestamps stay UTC everywhere; the zone only places the period boundaries.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from shared.schedules import TimeZone  # the kernel's, not via .mass: the settings load no mass-activity models
from shared.types import INPUT


class ActivitySettings(BaseModel):
    """A tenant's activity settings (PUT replaces them; a left-out field takes its default)."""

    model_config = INPUT

    time_zone: TimeZone = Field(
        "UTC", description="IANA time zone of the tenant's weeks, months and days, e.g. Europe/Helsinki"
    )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)
