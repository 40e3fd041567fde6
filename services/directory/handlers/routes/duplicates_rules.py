"""The tenant's duplicate-matching rules per entity (issue 24): GET for everyone, PUT for admins.

One route per entity, so that each document states its entity's fields (an enum) and its body's
`entity` (a constant): the rules no schema states are across fields (a field twice, a method the
field does not take, `min_matched_fields` above the fields compared) and the numbering plans
`default_country` may name; each is a 422 naming the field.
"""

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import Field

from services.directory import duplicate_rules
from services.directory.duplicate_rules import AccountRulesRead, ContactRulesRead
from services.directory.handlers.common import caller
from services.directory.matching.rules import AccountRules, ContactRules, MatchingRules

router = APIGatewayHttpRouter()


IGNORED = "Read-only: what GET answers may be sent back, and is ignored"


class ContactRulesReplace(ContactRules):
    """A contact's rules, whole; a left-out setting takes its default (`GET` shows the defaults)."""

    entity: Literal["contacts"] | None = Field(None, description="When sent: `contacts`")  # type: ignore[assignment]
    rekey: dict[str, Any] | None = Field(None, description=IGNORED)


class AccountRulesReplace(AccountRules):
    """An account's rules, whole; a left-out setting takes its default (`GET` shows the defaults)."""

    entity: Literal["accounts"] | None = Field(None, description="When sent: `accounts`")  # type: ignore[assignment]
    rekey: dict[str, Any] | None = Field(None, description=IGNORED)


def _replace(entity: Literal["contacts", "accounts"], body: MatchingRules) -> MatchingRules:
    sent = body.model_dump(mode="json", exclude_unset=True, exclude={"rekey"})
    return duplicate_rules.replace_rules(caller(router), entity, sent)


@router.get("/duplicates/rules/contacts")
def get_contact_duplicate_rules() -> ContactRulesRead:
    return duplicate_rules.get_rules(caller(router), "contacts")  # type: ignore[return-value]


@router.put("/duplicates/rules/contacts")
def replace_contact_duplicate_rules(body: Annotated[ContactRulesReplace, Body()]) -> ContactRulesRead:
    return _replace("contacts", body)  # type: ignore[return-value]


@router.get("/duplicates/rules/accounts")
def get_account_duplicate_rules() -> AccountRulesRead:
    return duplicate_rules.get_rules(caller(router), "accounts")  # type: ignore[return-value]


@router.put("/duplicates/rules/accounts")
def replace_account_duplicate_rules(body: Annotated[AccountRulesReplace, Body()]) -> AccountRulesRead:
    return _replace("accounts", body)  # type: ignore[return-value]
