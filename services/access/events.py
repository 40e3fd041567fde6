"""Events the access service publishes, registered once in the catalogue (docs/events.md).

An event another service consumes is a contract: its payload lives in `shared/contracts/`.
No other service consumes these yet (the audit trail reads every event).
"""

from pydantic import BaseModel, Field

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
