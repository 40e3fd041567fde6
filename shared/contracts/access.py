"""`access.refused`: a credential refused (shared/refusals.py), published by the access service's
authorizer and by every service's API (an API key without the route's permission: the kernel's
check, shared/api.py), so it lives here; the audit trail records it."""

from pydantic import BaseModel, Field

from shared.events import catalogue

# Every service with an API publishes it (its kernel); the audit service records it without the bus.
PRODUCERS = "access, activities, directory, email, invoicing, scanner, sms, webhooks, workflows"


class Refused(BaseModel):
    id: str = Field(description="What was refused: the API key's id, or the address when no key was given")
    status: int = Field(description="401 or 403, as the caller was answered")
    reason: str = Field(description="Why: the key is locked, revoked or expired, the address is not allowed ...")
    key_id: str | None = Field(default=None, description="The API key refused, if a key was given")
    ip: str


catalogue.register(
    "access.refused",
    Refused,
    producer=PRODUCERS,
    description="A credential was refused: an API key locked, revoked, expired, used outside its IPs or without "
    "the route's permission, or an address the tenant's IP rules deny (one event a minute per key or address "
    "and reason).",
)
