"""Commands and queries on events and tasks.

Every change runs the registered hooks inside the same unit of work, before the activity is
written: the call list notes the latest event of an account/contact, points follow completion.
A hook may set fields of `after` (points). So an activity, what follows from it and its event
commit together or not at all.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from services.activities import admin, files, references
from services.activities import events as ev
from services.activities.domain.crm import classify
from services.activities.domain.models import (
    Activity,
    ActivityCreate,
    ActivityKind,
    ActivityStatus,
    ActivityUpdate,
    Attachment,
    AttachmentCreate,
    AttachmentDownload,
    AttachmentUpload,
    Memo_,
    MemoCreate,
    check_times,
)
from services.activities.features import FEATURES
from services.activities.service import Caller
from services.activities.store import Record, new_record
from shared import clock
from shared.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from shared.events import changes_of
from shared.features import Hooks
from shared.ids import new_id
from shared.lookup import only_since, refuse
from shared.pagination import Page
from shared.service import commit, model_of, partition_page, patch_changes, sync_page
from shared.store import UnitOfWork, tenant_key

KIND = "activity"
# An activity is one item (DynamoDB: 400 KB) and travels whole in its events (EventBridge: 256 KB):
# its memos together hold at most this much text, in UTF-8 bytes, beside a 10,000-character description.
MEMO_BYTES = 128 * 1024
# The hooks the feature modules register (features.py names them; reading a list loads them all).
Hook = Callable[[Caller, UnitOfWork, Activity | None, Activity | None], None]
_HOOKS: Hooks[Hook] = Hooks(FEATURES)


BatchHook = Callable[[Caller, list[Activity]], AbstractContextManager[Any]]
_BATCH_HOOKS: Hooks[BatchHook] = Hooks(FEATURES)


def on_batch(hook: BatchHook) -> BatchHook:
    """Register a context a hook enters around the creation of many activities (to read in bulk)."""
    return _BATCH_HOOKS.register(hook)


_BATCH_FAILURES: Hooks[Callable[[], None]] = Hooks(FEATURES)


def on_batch_failure(forget: Callable[[], None]) -> Callable[[], None]:
    """Register what to forget when part of a batch did not commit (what it staged is not stored)."""
    return _BATCH_FAILURES.register(forget)


def batch_failed() -> None:
    for forget in _BATCH_FAILURES:
        forget()


@contextmanager
def batch(caller: Caller, todo: list[Activity]) -> Iterator[None]:
    """Create many activities: each registered batch hook reads what the change hooks will need at once."""
    with ExitStack() as stack:
        for hook in _BATCH_HOOKS:
            stack.enter_context(hook(caller, todo))
        yield


def on_change(hook: Hook) -> Hook:
    """Register a hook run on every create, change and delete (before = None on create, after = None on delete)."""
    return _HOOKS.register(hook)


def stamp(moment: datetime | None) -> str:
    """A sortable UTC time for index keys."""
    return clock.iso(moment) if moment else "9999"


# ----------------------------------------------------------------------------- records


def _index(record: Record, tenant: str, activity: Activity) -> None:
    """The index keys of an activity: calendar (events), account/contact history, to-do (open tasks),
    and the lists by owner, by type and of the whole tenant in time order (`list_activities`)."""
    at = stamp(activity.calendar_time)
    record.gsi2pk = record.gsi2sk = record.gsi3pk = record.gsi3sk = None
    record.gsi4pk = record.gsi4sk = record.gsi5pk = record.gsi5sk = None
    if activity.kind == ActivityKind.event:
        record.gsi2pk, record.gsi2sk = tenant_key(tenant, "CAL", activity.owner_id), f"{at}#{activity.id}"
    if activity.account_id:
        record.gsi3pk, record.gsi3sk = (
            tenant_key(tenant, "ACCOUNT", activity.account_id, "ACTIVITY"),
            f"{at}#{activity.id}",
        )
    if activity.contact_id:
        record.gsi4pk, record.gsi4sk = (
            tenant_key(tenant, "CONTACT", activity.contact_id, "ACTIVITY"),
            f"{at}#{activity.id}",
        )
    is_open_task = activity.kind == ActivityKind.task and activity.status == ActivityStatus.open
    if is_open_task:
        record.gsi5pk, record.gsi5sk = tenant_key(tenant, "TODO", activity.owner_id), f"{at}#{activity.id}"
    record.gsi6pk, record.gsi6sk = _owner_key(tenant, activity.owner_id), f"{at}#{activity.id}"
    record.gsi7pk, record.gsi7sk = _type_key(tenant, activity.type), f"{at}#{activity.id}"
    record.gsi8pk, record.gsi8sk = tenant_key(tenant, "ACTIVITY_TIME"), f"{at}#{activity.id}"
    reminder = activity.due if is_open_task and activity.due and activity.due > clock.now() else None
    record.set_due(tenant, clock.iso(reminder) if reminder else None)


def _owner_key(tenant: str, owner_id: str) -> str:
    return tenant_key(tenant, "OWNER", owner_id, "ACTIVITY")


def _type_key(tenant: str, type_code: str) -> str:
    return tenant_key(tenant, "TYPE", type_code, "ACTIVITY")


def _data(activity: Activity) -> dict[str, Any]:
    return activity.model_dump(mode="json", exclude={"id", "version"})


def _run_hooks(caller: Caller, uow: UnitOfWork, before: Activity | None, after: Activity | None) -> None:
    for hook in _HOOKS:
        hook(caller, uow, before, after)


def _event_type(before: Activity | None, after: Activity) -> str:
    if before is None:
        return "activity.created"
    if after.status == ActivityStatus.completed and before.status != ActivityStatus.completed:
        return "activity.completed"
    return "activity.updated"


def _publish(caller: Caller, uow: UnitOfWork, before: Activity | None, after: Activity) -> None:
    payload = ev.ActivityChanged(id=after.id, activity=after.model_dump(mode="json"))
    changes = changes_of(before, after) if before is not None else None
    uow.publish(caller.event(_event_type(before, after), payload, changes=changes))


# ----------------------------------------------------------------------------- building


def _fields(caller: Caller, data: dict[str, Any], sent: set[str]) -> dict[str, Any]:
    """Checked fields of an activity after a create or change (type, times, CRM classification)."""
    kind = admin.activity_type(caller, data["type"]).kind if "type" in sent else ActivityKind(data["kind"])
    check_times(kind, data)
    if data.get("category") or sent & {"category", "crm_kind", "crm_type", "properties"}:
        data.update(classify(admin.crm_settings(caller), data, sent))
    return {**data, "kind": kind}


def build(
    caller: Caller,
    body: ActivityCreate,
    *,
    activity_id: str | None = None,
    source: str = "manual",
    source_id: str | None = None,
) -> Activity:
    """A new activity from a client's input (validated, not yet stored)."""
    now = clock.now()
    data = _fields(caller, body.model_dump(), set(body.model_fields_set) | {"type"})
    data.update(
        id=activity_id or new_id(),
        owner_id=body.owner_id or caller.user_id,
        source=source,
        source_id=source_id,
        created_by=caller.user_id,
        created_at=now,
        updated_at=now,
        completed_at=now if body.status == ActivityStatus.completed else None,
    )
    return Activity.model_validate(data)


def stage_new(caller: Caller, uow: UnitOfWork, activity: Activity) -> None:
    """Add a new activity, its hooks and its event to a unit of work (id must be new)."""
    _run_hooks(caller, uow, None, activity)
    record = new_record(caller.tenant, KIND, activity.id, _data(activity))
    _index(record, caller.tenant, activity)
    caller.store.add(uow, record)
    _publish(caller, uow, None, activity)


def stage_change(caller: Caller, uow: UnitOfWork, record: Record, before: Activity, after: Activity) -> None:
    after.version = before.version + 1  # what the conditional save makes it
    _run_hooks(caller, uow, before, after)
    _index(record, caller.tenant, after)
    caller.store.replace(uow, record, _data(after))
    _publish(caller, uow, before, after)


# ----------------------------------------------------------------------------- access


def _load(caller: Caller, activity_id: str) -> tuple[Record, Activity]:
    record = caller.store.get(caller.tenant, KIND, activity_id)
    if record is None:
        raise NotFound(f"No activity {activity_id}.")
    return record, model_of(record, Activity)


def can_change(caller: Caller, activity: Activity) -> bool:
    return caller.is_manager or caller.user_id in (activity.owner_id, activity.created_by)


def _changeable(caller: Caller, activity_id: str) -> tuple[Record, Activity]:
    record, activity = _load(caller, activity_id)
    if not can_change(caller, activity):
        raise Forbidden("Only the responsible user, the creator, a manager or an admin may change this activity.")
    return record, activity


def check_owner(caller: Caller, owner_id: str) -> None:
    if owner_id != caller.user_id and not caller.is_manager:
        raise ValidationFailed.on("owner_id", "Only a manager or an admin may make someone else responsible.")


# ----------------------------------------------------------------------------- commands


def create_activity(caller: Caller, body: ActivityCreate) -> Activity:
    activity = build(caller, body)
    check_owner(caller, activity.owner_id)
    contact_id, account_id = references.resolved(caller, activity.contact_id, activity.account_id)
    activity = activity.model_copy(update={"contact_id": contact_id, "account_id": account_id})
    references.check(caller, activity.contact_id, activity.account_id)

    def run() -> Activity:
        # Retried: a hook's write (the call-list row) may meet a consumer's write of the same row.
        uow = UnitOfWork()
        stage_new(caller, uow, activity)
        uow.commit()
        return activity

    return commit(run)


def get_activity(caller: Caller, activity_id: str) -> Activity:
    return _load(caller, activity_id)[1]


def _changed(caller: Caller, before: Activity, changes: dict[str, Any]) -> Activity:
    data = {**before.model_dump(), **changes}
    sent = set(changes)
    if "category" in sent and "crm_kind" not in sent:
        data["crm_kind"] = None  # a new category brings its own kind and type
    if "category" in sent and "crm_type" not in sent:
        data["crm_type"] = None
    data = _fields(caller, data, sent)
    if "status" in sent:
        done = data["status"] == ActivityStatus.completed
        data["completed_at"] = (before.completed_at or clock.now()) if done else None
    data.update(updated_at=clock.now(), sequence=before.sequence + 1)
    return Activity.model_validate(data)


def update_activity(caller: Caller, activity_id: str, body: ActivityUpdate) -> Activity:
    changes = body.changes()
    contact_id, account_id = references.resolved(caller, changes.get("contact_id"), changes.get("account_id"))
    changes.update({k: v for k, v in (("contact_id", contact_id), ("account_id", account_id)) if k in changes})

    def run() -> Activity:
        record, before = _changeable(caller, activity_id)
        if not patch_changes(before, changes):
            return before
        if "owner_id" in changes and changes["owner_id"] != before.owner_id:
            check_owner(caller, changes["owner_id"])
        after = _changed(caller, before, changes)
        references.check(caller, after.contact_id, after.account_id, sent=set(changes))
        uow = UnitOfWork()
        stage_change(caller, uow, record, before, after)
        uow.commit()
        return after

    return commit(run)


def set_status(caller: Caller, activity_id: str, status: ActivityStatus) -> Activity:
    """Complete or reopen; doing it twice changes nothing."""

    def run() -> Activity:
        record, before = _changeable(caller, activity_id)
        if before.status == status:
            return before
        after = _changed(caller, before, {"status": status})
        uow = UnitOfWork()
        stage_change(caller, uow, record, before, after)
        uow.commit()
        return after

    return commit(run)


def delete_activity(caller: Caller, activity_id: str) -> None:
    def run() -> Activity:
        record, before = _changeable(caller, activity_id)
        uow = UnitOfWork()
        _run_hooks(caller, uow, before, None)
        caller.store.remove(uow, record)
        uow.publish(
            caller.event("activity.deleted", ev.ActivityDeleted(id=before.id, activity=before.model_dump(mode="json")))
        )
        uow.commit()
        return before

    deleted = commit(run)
    for attachment in deleted.attachments:
        files.delete(files.file_key(caller.tenant, KIND, activity_id, attachment.id))


def _append(
    caller: Caller,
    activity_id: str,
    field_name: str,
    item: dict[str, Any],
    fits: Callable[[list[dict[str, Any]]], None] | None = None,
) -> Activity:
    def run() -> Activity:
        record, before = _changeable(caller, activity_id)
        after = before.model_copy(deep=True)
        items = [*getattr(before, field_name)]
        after_data = after.model_dump()
        after_data[field_name] = [*[i.model_dump() for i in items], item]
        if fits is not None:
            fits(after_data[field_name])
        after_data["updated_at"] = clock.now()
        after = Activity.model_validate(after_data)
        uow = UnitOfWork()
        stage_change(caller, uow, record, before, after)
        uow.commit()
        return after

    return commit(run)


def add_memo(caller: Caller, activity_id: str, body: MemoCreate) -> Activity:
    memo = Memo_(id=new_id(), text=body.text, author_id=caller.user_id, created_at=clock.now())
    return _append(caller, activity_id, "memos", memo.model_dump(), _memos_fit)


def _memos_fit(memos: list[dict[str, Any]]) -> None:
    used = sum(len(str(memo["text"]).encode()) for memo in memos)
    if used > MEMO_BYTES:
        raise Conflict(f"The activity's memos are full ({MEMO_BYTES // 1024} KB of text): start another activity.")


def _folder(caller: Caller, activity_id: str) -> files.Folder:
    return files.Folder(caller.tenant, KIND, activity_id)


def start_attachment(caller: Caller, activity_id: str, body: AttachmentCreate) -> AttachmentUpload:
    attachment = files.new_attachment(body, caller.user_id)
    _append(caller, activity_id, "attachments", attachment.model_dump())
    return files.upload_of(_folder(caller, activity_id), attachment)


def _attachment(activity: Activity, attachment_id: str) -> Attachment:
    return files.find(activity.attachments, attachment_id, f"activity {activity.id}")


def complete_attachment(caller: Caller, activity_id: str, attachment_id: str) -> Attachment:
    """Mark an upload done once S3 holds it (and it is within the limit)."""

    def run() -> Attachment:
        record, before = _changeable(caller, activity_id)
        done = files.uploaded(_folder(caller, activity_id), _attachment(before, attachment_id))
        attachments = files.replaced(before.attachments, done)
        after = before.model_copy(update={"attachments": attachments, "updated_at": clock.now()})
        uow = UnitOfWork()
        stage_change(caller, uow, record, before, after)
        uow.commit()
        return done

    return commit(run)


def download_attachment(caller: Caller, activity_id: str, attachment_id: str) -> AttachmentDownload:
    activity = get_activity(caller, activity_id)
    return files.download_of(_folder(caller, activity_id), _attachment(activity, attachment_id))


def delete_attachment(caller: Caller, activity_id: str, attachment_id: str) -> None:
    def run() -> Activity:
        record, before = _changeable(caller, activity_id)
        _attachment(before, attachment_id)
        after = before.model_copy(
            update={"attachments": [a for a in before.attachments if a.id != attachment_id], "updated_at": clock.now()}
        )
        uow = UnitOfWork()
        stage_change(caller, uow, record, before, after)
        uow.commit()
        return after

    commit(run)
    files.delete(files.file_key(caller.tenant, KIND, activity_id, attachment_id))


# ----------------------------------------------------------------------------- lists


@dataclass(frozen=True)
class ListFilter:
    """What `GET /activities` may be asked for; `list_activities` says which combinations an index serves."""

    owner_id: str | None = None
    contact_id: str | None = None
    account_id: str | None = None
    type: str | None = None
    start: datetime | None = None  # `from`: the activity's time (an event's start, a task's due) at or after
    end: datetime | None = None  # `to`: before
    sort: Literal["time", "id"] | None = None
    order: Literal["asc", "desc"] | None = None
    updated_since: datetime | None = None  # sync (`shared.service.sync_page`): with no other parameter


def _unsupported(parameter: str, message: str) -> BadRequest:
    return refuse(parameter, message)


def _narrowing(flt: ListFilter, names: tuple[str, ...]) -> Any:
    """A DynamoDB filter on the fields `names` of `flt` that are set (None if none is)."""
    condition = None
    for name in names:
        value = getattr(flt, name)
        if value is not None:
            part = Record.fields[name] == value
            condition = part if condition is None else condition & part
    return condition


def list_activities(caller: Caller, cursor: str | None, limit: int, flt: ListFilter) -> Page[Activity]:
    """A page of the tenant's activities, each combination served by one index partition (O(page)):

    - `contact_id` (then `account_id`, `owner_id`, `type` narrow it) or `account_id` (then
      `owner_id`, `type`): that record's activities (by_contact, by_account);
    - else `owner_id` or `type` (not both): that user's, that type's (by_rank, by_rank_alt);
    - else the whole tenant: by time (by_time) or by id (by_type, `sort=id`).

    Sorted by the activity's time (an event's start, a task's due; `from`/`to` select a range of
    it), newest first by default; `sort=id` only without filters (oldest first by default).
    """
    if flt.updated_since is not None:
        names = {"start": "from", "end": "to"}
        others = {names.get(k, k): v for k, v in dataclasses.asdict(flt).items() if k != "updated_since"}
        only_since(others)
        return sync_page(caller, KIND, flt.updated_since, cursor, limit, Activity)
    filtered = any(getattr(flt, name) for name in ("owner_id", "contact_id", "account_id", "type"))
    ranged = flt.start is not None or flt.end is not None
    sort = flt.sort or ("time" if filtered or ranged else "id")
    order = flt.order or ("desc" if sort == "time" else "asc")
    if sort == "id" and (filtered or ranged):
        raise _unsupported("sort", "sort=id lists the whole tenant: filters and from/to need sort=time")
    if flt.start and flt.end and flt.end <= flt.start:
        raise ValidationFailed.on("query.to", "must be after from", "invalid_range")
    tenant = caller.tenant
    condition = None
    if flt.contact_id:
        index, key = Record.by_contact, tenant_key(tenant, "CONTACT", flt.contact_id, "ACTIVITY")
        condition = _narrowing(flt, ("account_id", "owner_id", "type"))
    elif flt.account_id:
        index, key = Record.by_account, tenant_key(tenant, "ACCOUNT", flt.account_id, "ACTIVITY")
        condition = _narrowing(flt, ("owner_id", "type"))
    elif flt.owner_id and flt.type:
        raise _unsupported("type", "type and owner_id together need contact_id or account_id")
    elif flt.owner_id:
        index, key = Record.by_rank, _owner_key(tenant, flt.owner_id)
    elif flt.type:
        index, key = Record.by_rank_alt, _type_key(tenant, flt.type)
    elif sort == "time":
        index, key = Record.by_time, tenant_key(tenant, "ACTIVITY_TIME")
    else:
        index, key = Record.by_type, tenant_key(tenant, KIND.upper())
    sort_key = getattr(Record, _SK[index.Meta.index_name])
    asked = json.dumps(dataclasses.asdict(flt) | {"sort": sort, "order": order}, default=str, sort_keys=True)
    scope = f"activities:{hashlib.sha256(asked.encode()).hexdigest()[:24]}"
    return partition_page(
        caller, scope, cursor, limit, index, key, sort_key, Activity, order == "desc",
        lower=stamp(flt.start) if flt.start else None, upper=stamp(flt.end) if flt.end else None, condition=condition,
    )  # fmt: skip


_SK = {
    "by_type": "gsi1sk",
    "by_calendar": "gsi2sk",
    "by_account": "gsi3sk",
    "by_contact": "gsi4sk",
    "by_todo": "gsi5sk",
    "by_rank": "gsi6sk",
    "by_rank_alt": "gsi7sk",
    "by_time": "gsi8sk",
}


def get_many(caller: Caller, ids: list[str]) -> Page[Activity]:
    """The activities of these ids (at most 100, one BatchGetItem) in the order asked; an id
    that is not an activity of the caller's tenant is left out."""
    found = caller.store.get_many(caller.tenant, KIND, ids)
    items = [model_of(found[i], Activity) for i in dict.fromkeys(ids) if i in found]
    return Page[Activity](items=items, next_cursor=None)


def calendar(caller: Caller, user_id: str, start: datetime, end: datetime, limit: int = 1000) -> list[Record]:
    """What sits in a user's calendar between two times (events, and bookings of other features)."""
    key = tenant_key(caller.tenant, "CAL", user_id)
    condition = Record.gsi2sk.between(stamp(start), stamp(end) + "~")
    return list(Record.by_calendar.query(key, range_key_condition=condition, limit=limit))
