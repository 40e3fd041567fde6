"""Contact orders [003]: a user's saved list filters (favourites), seen only by that user."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from services.activities.domain.contact_orders import Filters
from shared.types import INPUT, OUTPUT, Text100

MAX_FAVOURITES = 50


class FavouriteCreate(BaseModel):
    model_config = INPUT

    name: Text100
    filters: Filters


class Favourite(BaseModel):
    model_config = OUTPUT

    id: str
    name: str
    filters: Filters
    user_id: str
    created_at: datetime
