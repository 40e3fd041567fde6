"""Sign-ins: each attempt recorded, failures counted per user and per address, locks enforced.

Who a login is: the directory links a Cognito `sub` to (tenant, user) in its `LOGIN#<sub>` item;
the sign-in trigger reads that one item (GetItem on the directory table, its only right there).

Records in the access table:
- kind "signin", id a ULID: one attempt {user_id, at, outcome, ip, user_agent}; listed per user
  newest first through `by_type` (its gsi1pk is the tenant, kind and user);
- kind "loginlock", id `user-<id>` / `ip-<address>`: a failure counter (domain/logins.py).
An attempt, its counters and its events commit together (`UnitOfWork`); counters are versioned, so
two failures at once both count (the loser of the race reads again and retries).
"""

from __future__ import annotations

import os
from datetime import datetime
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
    after_failure,
    after_success,
    is_locked,
    lock_id,
)
from services.access.events import LockChanged, SignInEvent
from services.access.service import Caller
from services.access.store import AccessStore, Record
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


def _counter_data(subject: LockSubject, value: str, counter: Counter) -> dict[str, Any]:
    return {
        "subject": subject.value,
        subject.value if subject == LockSubject.IP else "user_id": value,
        "failures": counter.failures,
        "window_start": counter.window_start.isoformat() if counter.window_start else None,
        "locked_until": counter.locked_until.isoformat() if counter.locked_until else None,
        "locks": counter.locks,
    }


def _actor(user_id: str) -> Actor:
    return Actor(type="user", id=user_id)


def _attempt(
    store: AccessStore, uow: UnitOfWork, tenant: str, user: str, outcome: Outcome, ip: str, agent: str, now: datetime
) -> None:
    attempt_id = new_id()
    data = {"user_id": user, "at": now.isoformat(), "outcome": outcome.value, "ip": ip, "user_agent": agent}
    record = store.new(tenant, ATTEMPT, attempt_id, data)
    record.gsi1pk = tenant_key(tenant, ATTEMPT.upper(), user)
    store.add(uow, record)
    event_type = "login.succeeded" if outcome == Outcome.SUCCEEDED else "login.failed"
    payload = SignInEvent(id=attempt_id, user_id=user, outcome=outcome.value, ip=ip, user_agent=agent)
    uow.publish(new_event(event_type, tenant, payload, actor=_actor(user)))


def _counted(user: str, ip: str) -> list[tuple[LockSubject, str, int]]:
    """The counters a sign-in counts in: the user's, and its address's when the client gave one (a
    sign-in without one must not share a counter with every other such sign-in of the tenant)."""
    counted = [(LockSubject.USER, user, USER_LIMIT)]
    return [*counted, (LockSubject.IP, ip, IP_LIMIT)] if ip else counted


def check(store: AccessStore, tenant: str, user: str, ip: str, agent: str, now: datetime) -> None:
    """Before the password: LoginRefused (and the attempt recorded) while the user or address is locked."""
    keys = [(LOCK, lock_id(subject, value)) for subject, value, _ in _counted(user, ip)]
    counters = store.get_each(tenant, keys)
    if not any(is_locked(_counter(record), now) for record in counters.values()):
        return
    uow = UnitOfWork()
    _attempt(store, uow, tenant, user, Outcome.REFUSED, ip, agent[:MAX_USER_AGENT], now)
    uow.commit()
    raise LoginRefused("Too many failed sign-ins: try again later.")


def failed(store: AccessStore, tenant: str, user: str, ip: str, agent: str, now: datetime) -> None:
    """A wrong password: recorded, and counted against the user and the address (either may lock)."""

    def command() -> None:
        uow = UnitOfWork()
        _attempt(store, uow, tenant, user, Outcome.FAILED, ip, agent[:MAX_USER_AGENT], now)
        for subject, value, limit in _counted(user, ip):
            record = store.get(tenant, LOCK, lock_id(subject, value))
            before = _counter(record)
            after = after_failure(before, now, limit)
            _save(store, uow, tenant, record, subject, value, after)
            if after.locks > before.locks:
                lock = _lock_of(subject, value, after, now)
                uow.publish(new_event("login.locked", tenant, _lock_event(lock), actor=_actor(user)))
        uow.commit()

    run_with_retries(command)


def succeeded(store: AccessStore, tenant: str, user: str, ip: str, agent: str, now: datetime) -> None:
    """A sign-in that passed: recorded; the user's failures start again from none."""

    def command() -> None:
        uow = UnitOfWork()
        _attempt(store, uow, tenant, user, Outcome.SUCCEEDED, ip, agent[:MAX_USER_AGENT], now)
        record = store.get(tenant, LOCK, lock_id(LockSubject.USER, user))
        if record is not None and _counter(record).failures:
            _save(store, uow, tenant, record, LockSubject.USER, user, after_success(_counter(record)))
        uow.commit()

    run_with_retries(command)


def _save(
    store: AccessStore,
    uow: UnitOfWork,
    tenant: str,
    record: Record | None,
    subject: LockSubject,
    value: str,
    counter: Counter,
) -> None:
    data = _counter_data(subject, value, counter)
    if record is None:
        store.add(uow, store.new(tenant, LOCK, lock_id(subject, value), data))
    else:
        store.replace(uow, record, data)


def _lock_of(subject: LockSubject, value: str, counter: Counter, now: datetime) -> LoginLock:
    return LoginLock(
        id=lock_id(subject, value),
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


def _record_lock(record: Record, now: datetime) -> LoginLock:
    data = record.data
    subject = LockSubject(data["subject"])
    value = data["ip"] if subject == LockSubject.IP else data["user_id"]
    return _lock_of(subject, value, _counter(record), now)


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
    listed.items = [_record_lock(read[item.id], now) for item in listed.items]
    return listed


def lift_lock(caller: Caller, lock: str, now: datetime) -> None:
    """Delete a counter: the user or address may sign in again, and its next lock is the first."""
    caller.require_admin()
    record = caller.store.get(caller.tenant, LOCK, lock)
    if record is None:
        raise NotFound(f"No login lock {lock}.")
    uow = UnitOfWork()
    caller.store.remove(uow, record)
    uow.publish(caller.event("login.unlocked", _lock_event(_record_lock(record, now))))
    uow.commit()
