"""Accounts: the customer companies."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.directory import accounts, duplicate_checks, lookup
from services.directory.domain.models import Account, AccountCreate, AccountUpdate
from services.directory.duplicate_checks import AccountCreated
from services.directory.handlers.common import caller
from services.directory.handlers.routes import duplicate_batch
from services.directory.handlers.routes.duplicate_params import CREATE_RESPONSES, DuplicatesQuery
from services.directory.handlers.routes.params import NamePrefix, Order, Sort
from shared import bulk
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Ids, Limit, OptIdQuery, UpdatedSince, answers, no_content
from shared.types import CODE_PATTERN

router = APIGatewayHttpRouter()


@router.post("/accounts", status_code=201, responses=CREATE_RESPONSES)
def create_account(body: Annotated[AccountCreate, Body()], duplicates: DuplicatesQuery = "report") -> AccountCreated:
    who = caller(router)
    found = duplicate_checks.checked(who, "account", body, duplicates)  # with `reject`, a 409 when any
    made = accounts.create_account(who, body)
    return AccountCreated(**made.model_dump(), possible_duplicates=found)


AccountBatch = bulk.request_model("Account", AccountCreate, AccountUpdate)


@router.post("/accounts/batch")
def batch_accounts(
    body: Annotated[AccountBatch, Body()],  # type: ignore[valid-type]
    duplicates: DuplicatesQuery = "report",
) -> duplicate_batch.DuplicatesBatchResponse[AccountCreated]:
    items = body.items  # type: ignore[attr-defined]
    create, update = accounts.create_account, accounts.update_account
    return duplicate_batch.run(
        caller(router), "account", items, AccountCreate, AccountUpdate, create, update, AccountCreated, duplicates
    )


@router.get("/accounts")
def list_accounts(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    ids: Ids = None,
    name: NamePrefix = None,
    status: Annotated[str | None, Query(pattern=CODE_PATTERN, description="An account_status code")] = None,
    number: Annotated[str | None, Query(min_length=1, max_length=64, description="The account number")] = None,
    owner_id: OptIdQuery = None,
    class_id: OptIdQuery = None,
    sort: Sort = None,
    order: Order = "asc",
    updated_since: UpdatedSince = None,
) -> Page[Account]:
    """At most one filter (a second is a 400 `unsupported_combination` naming it); `ids` takes no other
    parameter but `limit`."""
    who = caller(router)
    filters = {"name": name, "status": status, "number": number, "owner_id": owner_id, "class_id": class_id}
    if ids is not None:
        others = {**filters, "cursor": cursor, "sort": sort, "order": None if order == "asc" else order}
        return lookup.read_many(who, "account", ids, Account, {**others, "updated_since": updated_since})
    return accounts.list_accounts(who, cursor, limit, filters, sort, order, updated_since)


@router.get("/accounts/<account_id>")
@answers(301)
def get_account(account_id: Id) -> Account:
    return accounts.get_account(caller(router), account_id)


@router.patch("/accounts/<account_id>")
@answers(410)
def update_account(account_id: Id, body: Annotated[AccountUpdate, Body()]) -> Account:
    return accounts.update_account(caller(router), account_id, body)


@router.delete("/accounts/<account_id>")
@answers(410)
def delete_account(account_id: Id) -> Response[None]:
    accounts.delete_account(caller(router), account_id)
    return no_content()
