"""Contacts: the people, with their data export and erasure."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.directory import accounts
from services.directory.domain.models import Contact, ContactCreate, ContactUpdate
from services.directory.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, OptIdQuery, no_content

router = APIGatewayHttpRouter()


@router.post("/contacts", status_code=201)
def create_contact(body: Annotated[ContactCreate, Body()]) -> Contact:
    return accounts.create_contact(caller(router), body)


@router.get("/contacts")
def list_contacts(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT, account_id: OptIdQuery = None) -> Page[Contact]:
    return accounts.list_contacts(caller(router), cursor, limit, account_id)


@router.get("/contacts/<contact_id>")
def get_contact(contact_id: Id) -> Contact:
    return accounts.get_contact(caller(router), contact_id)


@router.patch("/contacts/<contact_id>")
def update_contact(contact_id: Id, body: Annotated[ContactUpdate, Body()]) -> Contact:
    return accounts.update_contact(caller(router), contact_id, body)


@router.delete("/contacts/<contact_id>")
def delete_contact(contact_id: Id) -> Response[None]:
    accounts.delete_contact(caller(router), contact_id)
    return no_content()


@router.get("/contacts/<contact_id>/export")
def export_contact(contact_id: Id) -> dict[str, Any]:
    return accounts.export_contact(caller(router), contact_id)


@router.post("/contacts/<contact_id>/erase")
def erase_contact(contact_id: Id) -> Contact:
    return accounts.erase(caller(router), contact_id)
