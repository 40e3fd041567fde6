"""Scanner rules of a mailbox: admins write and reorder them; everyone reads them.

Under the mailbox (`/scanner/mailboxes/{id}/rules`) rather than a flat `/scanner/rules`: a rule
belongs to one mailbox and is evaluated for that mailbox's mail only, its order is the mailbox's,
and an unknown mailbox is a 404 of its own.
"""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.scanner import rules
from services.scanner.domain.rules import Rule, RuleCreate, RulePatch
from services.scanner.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, no_content

router = APIGatewayHttpRouter()


@router.get("/scanner/mailboxes/<mailbox_id>/rules")
def list_rules(mailbox_id: Id, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[Rule]:
    return rules.list_rules(caller(router), mailbox_id, cursor, limit)


@router.post("/scanner/mailboxes/<mailbox_id>/rules", status_code=201)
def create_rule(mailbox_id: Id, body: Annotated[RuleCreate, Body()]) -> Rule:
    return rules.create_rule(caller(router), mailbox_id, body)


@router.get("/scanner/mailboxes/<mailbox_id>/rules/<rule_id>")
def get_rule(mailbox_id: Id, rule_id: Id) -> Rule:
    return rules.get_rule(caller(router), mailbox_id, rule_id)


@router.patch("/scanner/mailboxes/<mailbox_id>/rules/<rule_id>")
def change_rule(mailbox_id: Id, rule_id: Id, body: Annotated[RulePatch, Body()]) -> Rule:
    return rules.change_rule(caller(router), mailbox_id, rule_id, body)


@router.delete("/scanner/mailboxes/<mailbox_id>/rules/<rule_id>")
def delete_rule(mailbox_id: Id, rule_id: Id) -> Response[None]:
    rules.delete_rule(caller(router), mailbox_id, rule_id)
    return no_content()
