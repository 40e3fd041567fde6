"""Customers that contact orders add [003]: "typing a new customer name adds the customer".

The activities service publishes `contact_order.created` with a `new_customer` block whose account
(and contact person) ids it derived from the order's id and stored on the order. The directory
creates them here with exactly those ids, through the same rules and writes as the API (numbers,
picklists, owner, `account.created` / `contact.created` in the outbox). The records are owned by
the order's creator, who acts here: the events name them as actor.

Idempotent twice over: the consumer's dedupe marker commits in the same transaction, and a record
that exists already (an event redelivered after its marker expired) is not created again.
"""

from services.directory.accounts import add_account, add_contact, check_references
from services.directory.domain.models import (
    CEASED_STATUS,
    AccountCreate,
    ContactCreate,
    PicklistName,
    new_account,
    new_contact,
)
from services.directory.service import Caller, acting_caller, check_picklists, number_for, picklists
from shared import clock
from shared.contracts.contact_orders import NewCustomer
from shared.events import Envelope
from shared.observability import logger
from shared.store import UnitOfWork

PREFERRED_STATUS = "active"


def _account_status(caller: Caller) -> str:
    """The status "active" if the tenant still has it, else its first active status that is not ceased."""
    items = picklists(caller).get(PicklistName.account_status, [])
    active = [i.code for i in items if i.active]
    if PREFERRED_STATUS in active or not active:
        return PREFERRED_STATUS
    return next((c for c in active if c != CEASED_STATUS), active[0])


def _account_body(caller: Caller, customer: NewCustomer) -> AccountCreate:
    fields = customer.model_dump(include={"name", "email", "phone", "street", "postal_code", "city", "country"})
    return AccountCreate.model_validate({**fields, "status": _account_status(caller)})


def create_customer(envelope: Envelope, uow: UnitOfWork) -> None:
    """Handle `contact_order.created`: add the new customer (and contact person) it names, once."""
    block = envelope.data.get("new_customer")
    if not block:
        return
    customer = NewCustomer.model_validate(block)
    caller = acting_caller(envelope.tenant_id, customer.owner_id)  # an admin's reach: the order was allowed
    now = clock.now()
    if caller.store.get(caller.tenant, "account", customer.account_id) is None:
        body = _account_body(caller, customer)
        check_picklists(caller, body)
        account = new_account(
            body,
            account_id=customer.account_id,
            number=number_for(caller, uow, "accounts"),
            caller_user_id=customer.owner_id,
            now=now,
        )
        add_account(caller, uow, account)
    else:
        logger.info("contact order's customer exists already", extra={"account_id": customer.account_id})
    person = customer.contact
    if person is None or caller.store.get(caller.tenant, "contact", person.contact_id) is not None:
        return
    contact_body = ContactCreate.model_validate(
        {**person.model_dump(exclude={"contact_id"}), "account_id": customer.account_id}
    )
    contact = new_contact(
        contact_body,
        contact_id=person.contact_id,
        number=number_for(caller, uow, "contacts"),
        caller_user_id=customer.owner_id,
        now=now,
    )
    check_references(caller, uow, contact_body.model_dump())
    add_contact(caller, uow, contact)
