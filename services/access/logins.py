"""Sign-ins: each attempt recorded, failures counted per user and per address, locks enforced.

Who a login is: the directory links a Cognito `sub` to (tenant, user) in its `LOGIN#<sub>` item;
the sign-in trigger reads that one item (GetItem on the directory table, its only right there).

Records in the access table:
- kind "signin", id a ULID: one attempt {user_id, at, outcome, ip, user_agent}; listed per user
  newest first through `by_type` (its gsi1pk is the tenant, kind and user); kept a year (TTL);
- kind "loginlock", id `user-<id>` / `ip-<address>`: a failure counter (domain/logins.py); the
  user's names its attempt under way (`open_attempt`), which a later trigger closes.
An attempt, its counters and its events commit together (`UnitOfWork`); counters are versioned, so
two sign-ins at once both count (the loser of the race reads again and retries).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import boto3

from services.access.domain.logins import (
    IP_LIMIT,
    USER_LIMIT,
    Counter,
    LockSubject,
    LoginLock,
    Outcome,
    SignIn,
    after_attempt,
    after_success,
    is_locked,
    lock_due,
    lock_id,
    locked_now,
    refunded,
)
from services.access.events import LockChanged, SignInEvent
from services.access.service import Caller
from services.access.store import AccessStore, Record
from shared import clock
from shared.errors import NotFound
from shared.events import Actor, new_event
from shared.ids import new_id
from shared.pagination import Page
from shared.service import page
from shared.store import UnitOfWork, run_with_retries, tenant_key
from shared.types import in_utc

ATTEMPT = "signin"
LOCK = "loginlock"
MAX_USER_AGENT = 500
SIGN_IN_RETENTION = timedelta(days=365)  # the login history an admin can read back (the table's TTL)
COUNTER_RETENTION = timedelta(days=30)  # a quiet month and the next lock is the first again


class LoginRefused(Exception):
    """The user or the address is locked: the sign-in is refused whatever the password."""


@cache
def _directory() -> Any:
    return boto3.client("dynamodb")


def login_of(subject: str) -> tuple[str, str] | None:
    """The (tenant, user) a Cognito login is, from the directory's login item; None if none."""
    answer = _directory().get_item(
        TableName=os.environ["DIRECTORY_TABLE_NAME"],
        Key={"pk": {"S": f"LOGIN#{subject}"}, "sk": {"S": "LOGIN"}},
        ConsistentRead=True,
    )
    fields = (answer.get("Item") or {}).get("data", {}).get("M", {})
    if "tenant_id" not in fields or "user_id" not in fields:
        return None
    return fields["tenant_id"]["S"], fields["user_id"]["S"]


def _counter(record: Record | None) -> Counter:
    if record is None:
        return Counter()
    data = record.data

    def moment(name: str) -> datetime | None:
        return in_utc(datetime.fromisoformat(data[name])) if data.get(name) else None

    return Counter(
        failures=int(data.get("failures", 0)),
        window_start=moment("window_start"),
        locked_until=moment("locked_until"),
        locks=int(data.get("locks", 0)),
    )


def _counter_data(subject: LockSubject, value: str, counter: Counter, open_attempt: str | None) -> dict[str, Any]:
    return {
        "subject": subject.value,
        subject.value if subject == LockSubject.IP else "user_id": value,
        "failures": counter.failures,
        "window_start": counter.window_start.isoformat() if counter.window_start else None,
        "locked_until": counter.locked_until.isoformat() if counter.locked_until else None,
        "locks": counter.locks,
        "open_attempt": open_attempt,
    }


def _actor(user_id: str) -> Actor:
    return Actor(type="user", id=user_id)


def _publish(uow: UnitOfWork, tenant: str, attempt: Record) -> None:
    data = attempt.data
    event_type = "login.succeeded" if data["outcome"] == Outcome.SUCCEEDED else "login.failed"
    payload = SignInEvent.model_validate({**data, "id": attempt.record_id})
    uow.publish(new_event(event_type, tenant, payload, actor=_actor(data["user_id"])))


def _attempt(
    store: AccessStore,
    uow: UnitOfWork,
    tenant: str,
    user: str,
    outcome: Outcome,
    client: tuple[str, str],
    now: datetime,
) -> Record:
    """A new attempt record; its event is published once its outcome is known."""
    ip, agent = client
    data = {"user_id": user, "at": now.isoformat(), "outcome": outcome.value, "ip": ip, "user_agent": agent}
    record = store.new(tenant, ATTEMPT, new_id(), data)
    record.gsi1pk = tenant_key(tenant, ATTEMPT.upper(), user)
    record.expires_at = now + SIGN_IN_RETENTION
    store.add(uow, record)
    if outcome != Outcome.STARTED:
        _publish(uow, tenant, record)
    return record


def _close(store: AccessStore, uow: UnitOfWork, tenant: str, attempt_id: str | None, outcome: Outcome) -> bool:
    """Give a started attempt its outcome (and publish it); False if there is none to close."""
    attempt = store.get(tenant, ATTEMPT, attempt_id) if attempt_id else None
    if attempt is None or attempt.data["outcome"] != Outcome.STARTED:
        return False
    store.replace(uow, attempt, {**attempt.data, "outcome": outcome.value})
    _publish(uow, tenant, attempt)
    return True


def _counted(user: str, ip: str) -> list[tuple[LockSubject, str, int]]:
    """The counters a sign-in counts in: the user's, and its address's when the client gave one (a
    sign-in without one must not share a counter with every other such sign-in of the tenant)."""
    counted = [(LockSubject.USER, user, USER_LIMIT)]
    return [*counted, (LockSubject.IP, ip, IP_LIMIT)] if ip else counted


def _counters(store: AccessStore, tenant: str, user: str, ip: str) -> dict[LockSubject, Record | None]:
    """The user's and the address's counters (None: none yet), in one read."""
    ids = {subject: lock_id(subject, value) for subject, value, _ in _counted(user, ip)}
    found = store.get_each(tenant, [(LOCK, record_id) for record_id in ids.values()])
    return {subject: found.get((LOCK, record_id)) for subject, record_id in ids.items()}


def begin(store: AccessStore, tenant: str, user: str, ip: str, agent: str, now: datetime) -> None:
    """A sign-in begins (before its password): LoginRefused while the user or the address is locked,
    or when it finds a full window of failures (then it locks). Else it is recorded as started and
    counted as a failure until it passes. The user's previous attempt still started never passed: it
    is closed as failed (a wrong password in a flow where no trigger sees one, or given up)."""
    client = (ip, agent[:MAX_USER_AGENT])

    def command() -> bool:
        uow = UnitOfWork()
        read = _counters(store, tenant, user, ip)
        user_record = read[LockSubject.USER]
        _close(store, uow, tenant, user_record.data.get("open_attempt") if user_record else None, Outcome.FAILED)
        refused = any(is_locked(_counter(record), now) for record in read.values())
        for subject, value, limit in [] if refused else _counted(user, ip):
            counter = _counter(read[subject])
            if lock_due(counter, now, limit):
                lock = _save(store, uow, tenant, read[subject], subject, value, locked_now(counter, now), None)
                uow.publish(new_event("login.locked", tenant, _lock_event(_lock_of(lock, now)), actor=_actor(user)))
                refused = True
        if refused:
            _attempt(store, uow, tenant, user, Outcome.REFUSED, client, now)
            uow.commit()
            return False
        attempt = _attempt(store, uow, tenant, user, Outcome.STARTED, client, now)
        for subject, value, _ in _counted(user, ip):
            opened = attempt.record_id if subject == LockSubject.USER else None
            counter = after_attempt(_counter(read[subject]), now)
            _save(store, uow, tenant, read[subject], subject, value, counter, opened)
        uow.commit()
        return True

    if not run_with_retries(command):
        raise LoginRefused("Too many failed sign-ins: try again later.")


def failed(store: AccessStore, tenant: str, user: str, ip: str, agent: str, now: datetime) -> None:
    """A wrong password seen (the custom flow): the started attempt closes as failed; it was counted
    when it began. None open: a sign-in of the user that began since closed it as failed already."""

    def command() -> None:
        uow = UnitOfWork()
        record = store.get(tenant, LOCK, lock_id(LockSubject.USER, user))
        if _close(store, uow, tenant, record.data.get("open_attempt") if record else None, Outcome.FAILED):
            uow.commit()

    run_with_retries(command)


def succeeded(store: AccessStore, tenant: str, user: str, ip: str, agent: str, now: datetime) -> None:
    """A sign-in that passed: the started attempt closes as succeeded; the user's failures start
    again from none, and the address's count no longer holds this one."""

    def command() -> None:
        uow = UnitOfWork()
        read = _counters(store, tenant, user, ip)
        user_record = read[LockSubject.USER]
        opened = user_record.data.get("open_attempt") if user_record else None
        if not _close(store, uow, tenant, opened, Outcome.SUCCEEDED):
            _attempt(store, uow, tenant, user, Outcome.SUCCEEDED, (ip, agent[:MAX_USER_AGENT]), now)
        if user_record is not None:
            _keep(store, uow, tenant, user_record, LockSubject.USER, user, after_success(_counter(user_record)))
        address = read.get(LockSubject.IP)
        if address is not None and opened is not None and _counter(address).failures:
            _keep(store, uow, tenant, address, LockSubject.IP, ip, refunded(_counter(address)))
        uow.commit()

    run_with_retries(command)


def _keep(
    store: AccessStore, uow: UnitOfWork, tenant: str, record: Record, subject: LockSubject, value: str, counter: Counter
) -> None:
    """Save a counter after a success; one with no failures and no past locks is no longer kept."""
    if counter.failures or counter.locks:
        _save(store, uow, tenant, record, subject, value, counter, None)
    else:
        store.remove(uow, record)


def _save(
    store: AccessStore,
    uow: UnitOfWork,
    tenant: str,
    record: Record | None,
    subject: LockSubject,
    value: str,
    counter: Counter,
    open_attempt: str | None,
) -> Record:
    data = _counter_data(subject, value, counter, open_attempt)
    if record is None:
        record = store.new(tenant, LOCK, lock_id(subject, value), data)
        record.expires_at = clock.now() + COUNTER_RETENTION
        store.add(uow, record)
    else:
        record.expires_at = clock.now() + COUNTER_RETENTION
        store.replace(uow, record, data)
    return record


def _lock_of(record: Record, now: datetime) -> LoginLock:
    data = record.data
    subject = LockSubject(data["subject"])
    value = data["ip"] if subject == LockSubject.IP else data["user_id"]
    counter = _counter(record)
    return LoginLock(
        id=record.record_id,
        subject=subject,
        user_id=value if subject == LockSubject.USER else None,
        ip=value if subject == LockSubject.IP else None,
        failures=counter.failures,
        locked_until=counter.locked_until,
        locks=counter.locks,
        locked=is_locked(counter, now),
    )


def _lock_event(lock: LoginLock) -> LockChanged:
    return LockChanged.model_validate(lock.model_dump(mode="json", include=set(LockChanged.model_fields)))


# -- the API (admins; a user reads their own sign-ins)


def list_sign_ins(caller: Caller, user_id: str | None, cursor: str | None, limit: int) -> Page[SignIn]:
    """A user's sign-ins, newest first: one's own, or any user's for an admin."""
    user = user_id or caller.user_id
    if user != caller.user_id:
        caller.require_admin()

    def fetch(after: dict[str, Any] | None, n: int) -> list[Record]:
        condition = Record.gsi1sk < after["id"] if after else None
        query = Record.by_type.query(
            tenant_key(caller.tenant, ATTEMPT.upper(), user),
            range_key_condition=condition,
            scan_index_forward=False,
            limit=n,
        )
        return list(query)

    def position(record: Record) -> dict[str, Any]:
        return {"id": record.record_id}

    return page(caller, f"{ATTEMPT}:{user}", cursor, limit, fetch, position, SignIn)


def list_locks(caller: Caller, cursor: str | None, limit: int, now: datetime) -> Page[LoginLock]:
    """The tenant's failure counters (locked or not), in id order."""
    caller.require_admin()
    read: dict[str, Record] = {}

    def fetch(after: dict[str, Any] | None, n: int) -> list[Record]:
        records = caller.store.page_by_type(caller.tenant, LOCK, after["id"] if after else None, n)
        read.update((r.record_id, r) for r in records)
        return records

    listed = page(caller, LOCK, cursor, limit, fetch, lambda r: {"id": r.record_id}, LoginLock)
    listed.items = [_lock_of(read[item.id], now) for item in listed.items]
    return listed


def lift_lock(caller: Caller, lock: str, now: datetime) -> None:
    """Delete a counter: the user or address may sign in again, and its next lock is the first."""
    caller.require_admin()
    record = caller.store.get(caller.tenant, LOCK, lock)
    if record is None:
        raise NotFound(f"No login lock {lock}.")
    uow = UnitOfWork()
    caller.store.remove(uow, record)
    uow.publish(caller.event("login.unlocked", _lock_event(_lock_of(record, now))))
    uow.commit()
