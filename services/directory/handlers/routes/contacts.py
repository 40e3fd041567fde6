"""Contacts: the people, with their data export and erasure."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.directory import accounts, duplicate_checks, lookup
from services.directory.domain.models import Contact, ContactCreate, ContactUpdate
from services.directory.duplicate_checks import ContactCreated
from services.directory.handlers.common import caller
from services.directory.handlers.routes import duplicate_batch
from services.directory.handlers.routes.duplicate_params import CREATE_RESPONSES, DuplicatesQuery
from services.directory.handlers.routes.params import EmailQuery, NamePrefix, Order, Sort
from shared import bulk
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Ids, Limit, OptIdQuery, UpdatedSince, answers, no_content

router = APIGatewayHttpRouter()


@router.post("/contacts", status_code=201, responses=CREATE_RESPONSES)
def create_contact(body: Annotated[ContactCreate, Body()], duplicates: DuplicatesQuery = "report") -> ContactCreated:
    who = caller(router)
    found = duplicate_checks.checked(who, "contact", body, duplicates)  # with `reject`, a 409 when any
    made = accounts.create_contact(who, body)
    return ContactCreated(**made.model_dump(), possible_duplicates=found)


ContactBatch = bulk.request_model("Contact", ContactCreate, ContactUpdate)


@router.post("/contacts/batch")
def batch_contacts(
    body: Annotated[ContactBatch, Body()],  # type: ignore[valid-type]
    duplicates: DuplicatesQuery = "report",
) -> duplicate_batch.DuplicatesBatchResponse[ContactCreated]:
    items = body.items  # type: ignore[attr-defined]
    create, update = accounts.create_contact, accounts.update_contact
    return duplicate_batch.run(
        caller(router), "contact", items, ContactCreate, ContactUpdate, create, update, ContactCreated, duplicates
    )


PhoneQuery = Annotated[
    str | None,
    Query(pattern=r"^[+0-9 ().-]{2,40}$", description="A phone or mobile number; only its digits are compared"),
]


@router.get("/contacts")
@answers(301)  # `account_id` of a merged account: the same list on the survivor
def list_contacts(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    ids: Ids = None,
    account_id: OptIdQuery = None,
    email: EmailQuery = None,
    phone: PhoneQuery = None,
    name: NamePrefix = None,
    owner_id: OptIdQuery = None,
    class_id: OptIdQuery = None,
    sort: Sort = None,
    order: Order = "asc",
    updated_since: UpdatedSince = None,
) -> Page[Contact]:
    """At most one filter (a second is a 400 `unsupported_combination` naming it); `ids` takes no other
    parameter but `limit`. `name` is the start of "last_name first_name"."""
    who = caller(router)
    filters = {
        "account_id": account_id,
        "email": email,
        "phone": phone,
        "name": name,
        "owner_id": owner_id,
        "class_id": class_id,
    }
    if ids is not None:
        others = {**filters, "cursor": cursor, "sort": sort, "order": None if order == "asc" else order}
        return lookup.read_many(who, "contact", ids, Contact, {**others, "updated_since": updated_since})
    return accounts.list_contacts(who, cursor, limit, filters, sort, order, updated_since)


@router.get("/contacts/<contact_id>")
@answers(301)
def get_contact(contact_id: Id) -> Contact:
    return accounts.get_contact(caller(router), contact_id)


@router.patch("/contacts/<contact_id>")
@answers(410)
def update_contact(contact_id: Id, body: Annotated[ContactUpdate, Body()]) -> Contact:
    return accounts.update_contact(caller(router), contact_id, body)


@router.delete("/contacts/<contact_id>")
@answers(410)
def delete_contact(contact_id: Id) -> Response[None]:
    accounts.delete_contact(caller(router), contact_id)
    return no_content()


@router.get("/contacts/<contact_id>/export")
@answers(301)
def export_contact(contact_id: Id) -> dict[str, Any]:
    return accounts.export_contact(caller(router), contact_id)


@router.post("/contacts/<contact_id>/erase")
@answers(410)
def erase_contact(contact_id: Id) -> Contact:
    return accounts.erase(caller(router), contact_id)
