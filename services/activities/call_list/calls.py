"""Logging a call from the call list: an event on the row's account or contact, its latest at once."""

from __future__ import annotations

from services.activities import activities, admin, references
from services.activities.call_list import rows
from services.activities.domain.call_list import CallCreate, contact_manager, listed, row_kind, visible_to
from services.activities.domain.models import Activity, ActivityCreate, ActivityKind
from services.activities.service import Caller
from shared.errors import NotFound, ValidationFailed
from shared.store import UnitOfWork, run_with_retries


def log_call(caller: Caller, body: CallCreate) -> Activity:
    """An event linked to the row's account or contact (by the search mode), shown as its latest at once."""
    body.check_link()
    contact_id, account_id = references.resolved(caller, body.contact_id, body.account_id)
    body = body.model_copy(update={"contact_id": contact_id, "account_id": account_id})
    kind = row_kind(body.mode)
    row = rows.get_row(caller.tenant, kind, body.row_id)
    data = row.data if row else {}
    record = data.get("record") or {}
    manager = record.get("account_manager_id") if kind == "account" else contact_manager(record, data.get("account"))
    owner = (record.get("owner") or {}).get("id")
    auth = caller.auth
    if not listed(kind, data) or not visible_to(auth.role, auth.user_id, auth.groups, owner, manager):
        raise NotFound(f"No {kind} {body.row_id} in the call list.")
    if admin.activity_type(caller, body.type).kind != ActivityKind.event:
        raise ValidationFailed.on("type", f"{body.type} is not a type of event.", "not_event")
    create = ActivityCreate(
        type=body.type,
        subject=body.subject,
        description=body.description,
        start=body.start,
        end=body.end or body.start,
        account_id=body.account_id,
        contact_id=body.contact_id,
    )
    activity = activities.build(caller, create, source="call_list", source_id=body.row_id)

    def run() -> Activity:
        uow = UnitOfWork()
        activities.stage_new(caller, uow, activity)
        uow.commit()
        return activity

    return run_with_retries(run)  # type: ignore[no-any-return]
