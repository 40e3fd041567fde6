"""Mailboxes: admins create, change and delete them and post raw messages to them; everyone reads them."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.scanner import mailboxes
from services.scanner.domain.mailboxes import Mailbox, MailboxCreate, MailboxPatch, RawAccepted, RawMessage
from services.scanner.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, UpdatedSince, no_content

router = APIGatewayHttpRouter()


@router.get("/scanner/mailboxes")
def list_mailboxes(
    cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT, updated_since: UpdatedSince = None
) -> Page[Mailbox]:
    return mailboxes.list_mailboxes(caller(router), cursor, limit, updated_since)


@router.post("/scanner/mailboxes", status_code=201)
def create_mailbox(body: Annotated[MailboxCreate, Body()]) -> Mailbox:
    return mailboxes.create_mailbox(caller(router), body)


@router.get("/scanner/mailboxes/<mailbox_id>")
def get_mailbox(mailbox_id: Id) -> Mailbox:
    return mailboxes.get_mailbox(caller(router), mailbox_id)


@router.patch("/scanner/mailboxes/<mailbox_id>")
def change_mailbox(mailbox_id: Id, body: Annotated[MailboxPatch, Body()]) -> Mailbox:
    return mailboxes.change_mailbox(caller(router), mailbox_id, body)


@router.delete("/scanner/mailboxes/<mailbox_id>")
def delete_mailbox(mailbox_id: Id) -> Response[None]:
    mailboxes.delete_mailbox(caller(router), mailbox_id)
    return no_content()


@router.post("/scanner/mailboxes/<mailbox_id>/raw", status_code=202)
def post_raw(mailbox_id: Id, body: Annotated[RawMessage, Body()]) -> RawAccepted:
    return mailboxes.accept_raw(caller(router), mailbox_id, body)
