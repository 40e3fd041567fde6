"""The audit trail: admins read an entity's, an actor's or a time range's records."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import AwareDatetime

from services.audit import trail
from services.audit.domain.trail import AuditRecord
from services.audit.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import ID_PATTERN, Cursor, Limit

router = APIGatewayHttpRouter()

EntityType = Annotated[
    str | None, Query(pattern=r"^[a-z_]{1,40}$", description="The kind of record (`contact`, `account`, ...)")
]
EntityId = Annotated[str | None, Query(pattern=ID_PATTERN, description="The record's id (with `entity_type`)")]
ActorId = Annotated[
    str | None,
    Query(pattern=r"^[A-Za-z0-9._:@-]{1,128}$", description="A user's, API key's or service's id (`service:email`)"),
]
From = Annotated[AwareDatetime | None, Query(alias="from", description="At or after this time (with a zone)")]
To = Annotated[AwareDatetime | None, Query(alias="to", description="Before this time (with a zone); default now")]


@router.get("/audit")
def list_audit(
    entity_type: EntityType = None,
    entity_id: EntityId = None,
    actor_id: ActorId = None,
    since: From = None,
    until: To = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[AuditRecord]:
    return trail.trail(
        caller(router),
        entity_type=entity_type,
        entity_id=entity_id,
        actor_id=actor_id,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )
