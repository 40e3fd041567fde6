"""SMS credits: anyone reads the balance; admins top it up and read the ledger."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.sms import credits
from services.sms.domain.credits import SmsBalance, SmsLedgerEntry, SmsTopUp
from services.sms.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, UpdatedSince, located

router = APIGatewayHttpRouter()


@router.get("/sms/balance")
def get_balance() -> SmsBalance:
    return credits.balance(caller(router))


@router.post("/sms/credits", status_code=201)
@located("/sms/ledger/{id}")
def top_up(body: Annotated[SmsTopUp, Body()]) -> SmsLedgerEntry:
    return credits.top_up(caller(router), body)


@router.get("/sms/ledger")
def list_ledger(
    cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT, updated_since: UpdatedSince = None
) -> Page[SmsLedgerEntry]:
    return credits.list_entries(caller(router), cursor, limit, updated_since)


@router.get("/sms/ledger/<entry_id>")
def get_ledger_entry(entry_id: Id) -> SmsLedgerEntry:
    return credits.get_entry(caller(router), entry_id)
