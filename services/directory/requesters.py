"""Contacts that scanner rules ask for (issue 21 item 3): a mail from an unknown sender opened a
ticket, and the rule said "create the contact".

The scanner publishes `ticket.created` with a `new_contact` block (shared/contracts/tickets.py)
whose contact id it derived from the tenant and the address and already linked the ticket to. The
directory creates the contact here with exactly that id, through the same rules and writes as the
API (number, owner, `contact.created` in the outbox), owned by the ticket's owner. Once: a contact
that exists (another mail from the same address, a redelivery) is not created again.
"""

from typing import Any

from pydantic import ValidationError

from services.directory.accounts import add_contact
from services.directory.domain.models import ContactCreate, new_contact
from services.directory.service import number_for, service_caller
from shared import clock
from shared.contracts.tickets import NewRequester
from shared.events import Envelope
from shared.observability import logger
from shared.store import UnitOfWork


def create_requester(envelope: Envelope, uow: UnitOfWork) -> None:
    """Handle `ticket.created`: add the contact its `new_contact` names, once."""
    block = envelope.data.get("new_contact")
    if not block:
        return
    wanted = NewRequester.model_validate(block)
    caller = service_caller(envelope.tenant_id)
    if caller.store.get(caller.tenant, "contact", wanted.contact_id) is not None:
        return
    fields: dict[str, Any] = {
        "first_name": wanted.first_name,
        "last_name": wanted.last_name or wanted.email.partition("@")[0][:100],
        "email": wanted.email,
        "owner": {"type": wanted.owner_type, "id": wanted.owner_id},
    }
    try:
        body = ContactCreate.model_validate(fields)
    except ValidationError:  # a name the API would refuse: the address's local part names the contact
        try:
            body = ContactCreate.model_validate(fields | {"first_name": None, "last_name": wanted.email[:100]})
        except ValidationError as exc:  # an address the API refuses: no contact (the same event fails again)
            logger.warning("requester contact not created", extra={"reasons": str(exc)[:500]})
            return
    contact = new_contact(
        body,
        contact_id=wanted.contact_id,
        number=number_for(caller, uow, "contacts"),
        caller_user_id=wanted.owner_id,
        now=clock.now(),
    )
    add_contact(caller, uow, contact)
