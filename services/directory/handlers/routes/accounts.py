"""Accounts: the customer companies."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.directory import accounts
from services.directory.domain.models import Account, AccountCreate, AccountUpdate
from services.directory.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, no_content

router = APIGatewayHttpRouter()


@router.post("/accounts", status_code=201)
def create_account(body: Annotated[AccountCreate, Body()]) -> Account:
    return accounts.create_account(caller(router), body)


@router.get("/accounts")
def list_accounts(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[Account]:
    return accounts.list_accounts(caller(router), cursor, limit)


@router.get("/accounts/<account_id>")
def get_account(account_id: Id) -> Account:
    return accounts.get_account(caller(router), account_id)


@router.patch("/accounts/<account_id>")
def update_account(account_id: Id, body: Annotated[AccountUpdate, Body()]) -> Account:
    return accounts.update_account(caller(router), account_id, body)


@router.delete("/accounts/<account_id>")
def delete_account(account_id: Id) -> Response[None]:
    accounts.delete_account(caller(router), account_id)
    return no_content()
