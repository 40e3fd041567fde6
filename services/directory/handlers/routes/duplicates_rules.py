"""The tenant's duplicate-matching rules per entity (issue 24): GET for everyone, PUT for admins."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import Field

from services.directory import duplicate_checks
from services.directory.handlers.common import caller
from services.directory.matching.rules import MatchingRules

router = APIGatewayHttpRouter()

EntityPath = Annotated[Literal["contacts", "accounts"], Path(description="The entity the rules match")]


class RulesReplace(MatchingRules):
    """The whole rules of an entity; a left-out setting takes its default. Which `fields` an
    entity compares and how: `GET` shows the defaults; a field the entity does not have, a method it
    does not take or a field twice is a 422 naming it (`fields.0.field`)."""

    entity: Literal["contacts", "accounts"] | None = Field(  # type: ignore[assignment]
        None, description="The path's entity; when sent, it must be the same"
    )


@router.get("/duplicates/rules/<entity>")
def get_duplicate_rules(entity: EntityPath) -> MatchingRules:
    return duplicate_checks.get_rules(caller(router), entity)


@router.put("/duplicates/rules/<entity>")
def replace_duplicate_rules(entity: EntityPath, body: Annotated[RulesReplace, Body()]) -> MatchingRules:
    sent = body.model_dump(mode="json", exclude_unset=True)
    return duplicate_checks.replace_rules(caller(router), entity, sent)
