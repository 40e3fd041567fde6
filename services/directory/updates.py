"""Field changes another service asks for (`contact.update_requested`, `account.update_requested`:
a workflow's "set a field" action, shared/contracts/workflows.py).

The directory applies one as the user it names would through PATCH: the same model, picklists,
permission check (`writable`) and writes (`change_contact` / `change_account`), so the ordinary
`contact.updated` / `account.updated` follows, in the consumer's unit of work with its dedupe
marker: a redelivered request changes nothing twice. Being made while the request is handled, that
event carries the request at the end of its causation chain (shared/events.py `handling`), which is
what stops two workflows that would set each other's trigger field forever.

A request the directory refuses (a value its rules or the tenant's picklists do not take, a record
gone or not the user's to change) is answered once with `<entity>.update_refused` (the workflow
records it as the step's outcome) and not retried: asking again would be refused again.
"""

from typing import Any

from pydantic import BaseModel, ValidationError

from services.directory.accounts import change_account, change_contact
from services.directory.domain.models import AccountUpdate, ContactUpdate
from services.directory.service import Caller, check_picklists, writable
from shared.contracts.workflows import RecordUpdateRequested, refusal
from shared.errors import DomainError, ValidationFailed
from shared.events import Envelope
from shared.observability import logger
from shared.service import user_caller
from shared.store import UnitOfWork

MODULES = {"contact": "contacts", "account": "accounts"}


def _body(entity: str, changes: dict[str, Any]) -> BaseModel:
    return (ContactUpdate if entity == "contact" else AccountUpdate).model_validate(changes)


def _check_user(caller: Caller, changes: dict[str, Any]) -> None:
    """An account manager must be a user of the tenant: checked by a read here rather than by the
    transaction's condition (`require_exists`), which would refuse the consumer's commit every time."""
    user_id = changes.get("account_manager_id")
    if user_id and caller.store.get(caller.tenant, "user", user_id) is None:
        raise ValidationFailed.on("account_manager_id", f"No user {user_id}.", "not_found")


def apply_update(envelope: Envelope, uow: UnitOfWork) -> None:
    """Handle `<entity>.update_requested`: change the record as the acting user would, once."""
    entity = envelope.type.split(".", 1)[0]
    request = RecordUpdateRequested.model_validate(envelope.data)
    try:
        caller = user_caller(Caller, envelope.tenant_id, request.acting)  # a tenant never provisioned: 403
        body = _body(entity, request.changes)
        check_picklists(caller, body.model_dump(exclude_unset=True))
        _check_user(caller, request.changes)
        record = writable(caller, entity, request.id, MODULES[entity])  # type: ignore[arg-type]
        if entity == "contact":
            change_contact(caller, uow, record, body)  # type: ignore[arg-type]
        else:
            change_account(caller, uow, record, body)  # type: ignore[arg-type]
    except (ValidationError, DomainError) as refused:
        logger.warning(
            "update request refused",
            extra={"request_id": request.request_id, "record_id": request.id, "reason": str(refused)[:500]},
        )
        uow.publish(refusal(envelope, request.request_id, refused))
