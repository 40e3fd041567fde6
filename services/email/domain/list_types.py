"""List types: the opt-out lists every send is bound to, and a recipient's opt-out of one.

A contact who refuses one list type (say marketing) still gets the others (service notices).
Every list type has a landing page where the recipient unsubscribes or subscribes again.
"""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator

from shared.ids import derived_id
from shared.types import INPUT, OUTPUT, Email, Name200, OptId, reject_null

Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]

MARKETING = "marketing"
SERVICE_NOTICES = "service-notices"
OPTOUT = "optout"  # the record kinds of consent, keyed by the address (services/email/list_types.py)
SUPPRESSION = "suppression"


class ListTypeCreate(BaseModel):
    model_config = INPUT

    name: Name200
    description: Description = ""


class ListTypePatch(BaseModel):
    model_config = INPUT

    name: Name200 | None = None
    description: Description | None = Field(None, description="null clears it")

    _not_null = field_validator("name")(reject_null)  # a list type always has a name


class ListTypeSummary(BaseModel):
    """A list type in a list: without its description (`GET /email/list-types/{id}`)."""

    model_config = OUTPUT

    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    version: int = 1


class ListType(ListTypeSummary):
    description: str = ""


class OptOutCreate(BaseModel):
    """A refusal recorded by a user (the recipient said so by phone, say)."""

    model_config = INPUT

    address: Email
    contact_id: OptId = None


class OptOut(BaseModel):
    model_config = OUTPUT

    id: str
    address: str
    list_type_id: str
    contact_id: str | None = None
    at: datetime
    source: str = Field(
        description="one_click, landing_page, user:<id>, or merge:<merge id> (a merged contact's, kept)"
    )
    version: int = 1


class TokenClaims(BaseModel):
    """What a signed unsubscribe link carries."""

    tenant: str = Field(alias="t")
    address: str = Field(alias="a")
    list_type_id: str = Field(alias="l")
    contact_id: str | None = Field(None, alias="c")
    expires: int = Field(alias="e", description="Unix time after which the link is refused")

    model_config = {"populate_by_name": True}


LandingAction = Literal["unsubscribe", "subscribe"]


def normalised(address: str) -> str:
    return address.strip().lower()


def optout_id(address: str, list_type_id: str) -> str:
    """The id of an address's opt-out of a list type (staging and the sender read it by this)."""
    return derived_id(normalised(address), list_type_id)


def suppression_id(address: str) -> str:
    """The id of an address's suppression (a hard bounce or a complaint: every list type)."""
    return derived_id(normalised(address))


def default_list_types() -> list[tuple[str, str, str]]:
    """(id, name, description) of the list types a new tenant starts with."""
    return [
        (MARKETING, "Marketing", "Newsletters, offers and campaigns."),
        (SERVICE_NOTICES, "Service notices", "Critical notices about the service the recipient uses."),
    ]


def masked(address: str) -> str:
    """An address shown on a public page: enough to recognise it, not enough to harvest it."""
    local, _, domain = address.partition("@")
    shown = local[:2] if len(local) > 3 else local[:1]
    return f"{shown}***@{domain}" if domain else f"{shown}***"
