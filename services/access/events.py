"""Events the access service publishes, registered once in the catalogue (docs/events.md).

An event another service consumes is a contract: its payload lives in `shared/contracts/`.
No other service consumes these yet (the audit trail reads every event).
"""

from datetime import datetime

from pydantic import BaseModel, Field

import shared.contracts.access  # noqa: F401  (access.refused: the kernel notes refusals in every service)
from shared.events import catalogue

PRODUCER = "access"


class ApiKeyChanged(BaseModel):
    id: str = Field(description="The key's id, also the user id it acts as")
    name: str
    prefix: str = Field(description="The key's visible start (never its secret)")
    status: str = Field(description="active, locked or revoked")
    permissions: list[str]
    role: str


for event_type, what in (
    ("api_key.created", "An admin created an API key (its secret is in no event)."),
    ("api_key.updated", "An admin changed an API key's name, permissions, role, expiry or IP allow-list."),
    ("api_key.locked", "An admin locked an API key: it is refused until unlocked."),
    ("api_key.unlocked", "An admin unlocked an API key."),
    ("api_key.revoked", "An admin revoked an API key: it never works again."),
):
    catalogue.register(event_type, ApiKeyChanged, producer=PRODUCER, description=what)


class SignInEvent(BaseModel):
    id: str = Field(description="The attempt's id (as GET /logins lists it)")
    user_id: str
    outcome: str = Field(description="succeeded, failed (a wrong password) or refused (locked)")
    at: datetime | None = Field(default=None, description="When the sign-in began")
    ip: str
    user_agent: str


class LockChanged(BaseModel):
    id: str = Field(description="The counter's id: `user-<user id>` or `ip-<address>`")
    subject: str = Field(description="user or ip")
    user_id: str | None = None
    ip: str | None = None
    locked_until: str | None = None
    locks: int


catalogue.register(
    "login.succeeded", SignInEvent, producer=PRODUCER, description="A user signed in (time, address, user agent)."
)
catalogue.register(
    "login.failed",
    SignInEvent,
    producer=PRODUCER,
    description="A sign-in failed: a wrong password, or refused because the user or the address is locked.",
)
catalogue.register(
    "login.locked",
    LockChanged,
    producer=PRODUCER,
    description="Too many failed sign-ins locked a user or an address; each lock lasts twice the last.",
)
catalogue.register(
    "login.unlocked", LockChanged, producer=PRODUCER, description="An admin lifted a user's or an address's lock."
)
