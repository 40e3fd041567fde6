"""Contact orders [003]: facilities, a tenant list an order names (created on first use)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from shared.errors import FieldError
from shared.types import INPUT, OUTPUT, Name200, OptId


class FacilityCreate(BaseModel):
    model_config = INPUT

    name: Name200
    account_id: OptId = None


class Facility(BaseModel):
    model_config = OUTPUT

    id: str
    name: str
    account_id: str | None = None
    created_by: str
    created_at: datetime


def facility_errors(data: dict[str, Any]) -> list[FieldError]:
    if data.get("facility_id") and data.get("facility_name"):
        message = "give facility_id or facility_name, not both"
        return [FieldError(field="facility_name", message=message, code="conflict")]
    return []
