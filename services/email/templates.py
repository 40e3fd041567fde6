"""Email templates: create, read, change, delete, list, and preview for one contact.

Records: kind `template`, id a new ULID, data {name, subject, html, text, created_at,
updated_at, created_by}; listed through `by_type`. Every part is checked when saved
(`domain.rendering.check`, the engine of `shared/templating.py`): a syntax error, an unknown tag,
a refused attribute or work over the sandbox's limits written with literals (`shared/sandbox.py`)
is a 422 naming the part. A preview over a limit is a 422 naming the part. Templates are shared by the tenant's users.
Every command commits its record with its event (`email_template.created/updated/deleted`).
"""

from __future__ import annotations

from datetime import datetime

from services.email import recipients
from services.email.domain.templates import (
    PreviewRequest,
    Rendered,
    Template,
    TemplateCreate,
    TemplateSummary,
    TemplateUpdate,
)
from services.email.events import TemplateChanged
from services.email.service import Caller
from services.email.store import TERMS, Record
from shared import clock, merges
from shared.events import changes_of
from shared.ids import new_id
from shared.lookup import Order, find, plan
from shared.pagination import Page
from shared.permissions import Action
from shared.service import commit, model_of, patch_changes
from shared.store import UnitOfWork, run_with_retries

TEMPLATE = "template"
# What a person changes on a template: its events' `changes` show these (a part cut to 500 characters).
CHANGEABLE = ("name", "subject", "html", "text")


def _record(caller: Caller, template_id: str, action: Action | None = None) -> Record:
    """The template (every user of the tenant sees it); with `action`, 403 unless the caller may do it."""
    record: Record = caller.shared_record(TEMPLATE, template_id, "template", "templates", action)
    return record


def create_template(caller: Caller, body: TemplateCreate) -> Template:
    from services.email.domain.rendering import check  # Jinja2: loaded where templates are checked

    check(body.model_dump())
    at = clock.now().isoformat()
    data = {**body.model_dump(), "created_at": at, "updated_at": at, "created_by": caller.user_id}
    record = caller.store.new(caller.tenant, TEMPLATE, new_id(), data)
    uow = UnitOfWork()
    caller.store.add(uow, record)
    uow.publish(caller.event("email_template.created", _changed(record)))
    uow.commit()
    return model_of(record, Template)


def _changed(record: Record) -> TemplateChanged:
    """The event's payload: the template's name and subject, never its bodies."""
    data = record.data
    return TemplateChanged(id=record.record_id, name=data["name"], subject=str(data.get("subject") or "")[:200])


def get_template(caller: Caller, template_id: str) -> Template:
    return model_of(_record(caller, template_id), Template)


def update_template(caller: Caller, template_id: str, body: TemplateUpdate) -> Template:
    changes = body.model_dump(exclude_unset=True)
    from services.email.domain.rendering import check

    check({part: value for part, value in changes.items() if value is not None})

    def attempt() -> Template:
        record = _record(caller, template_id, Action.CHANGE)
        if not patch_changes(record.data, changes):
            return model_of(record, Template)
        before = dict(record.data)
        uow = UnitOfWork()
        caller.store.replace(uow, record, {**record.data, **changes, "updated_at": clock.now().isoformat()})
        audited = changes_of(before, record.data, [name for name in changes if name in CHANGEABLE])
        uow.publish(caller.event("email_template.updated", _changed(record), changes=audited))
        uow.commit()
        return model_of(record, Template)

    return commit(attempt)


def delete_template(caller: Caller, template_id: str) -> None:
    def attempt() -> None:
        record = _record(caller, template_id, Action.DELETE)
        uow = UnitOfWork()
        caller.store.remove(uow, record)
        uow.publish(caller.event("email_template.deleted", _changed(record)))
        uow.commit()

    run_with_retries(attempt)


def list_templates(
    caller: Caller,
    cursor: str | None,
    limit: int,
    filters: dict[str, str | None],
    sort: str | None,
    order: Order,
    updated_since: datetime | None = None,
) -> Page[TemplateSummary]:
    """The templates, filtered by at most one of `name` (prefix, in name order) and `created_by`;
    with `updated_since`, the kernel's sync page (no filter, sort or order)."""
    query = plan(filters, sort, order, prefixes={"name": "name"}, updated_since=updated_since)
    return find(caller, TEMPLATE, TERMS[TEMPLATE], TemplateSummary, cursor, limit, query)


def preview(caller: Caller, template_id: str, body: PreviewRequest) -> Rendered:
    """The template rendered for one contact (from the recipients projection) and sample record data."""
    template = get_template(caller, template_id)
    from services.email.domain.rendering import render  # Jinja2: loaded where templates are rendered

    contact_id = merges.resolve(caller.store, caller.tenant, "contact", body.contact_id)  # an old link: the survivor
    return render(template, recipients.context_for(caller, contact_id, body.record))
