"""Re-keying phone numbers after a change of the duplicate rules' `default_country` (issue 24).

A national number's duplicate key is its E.164 read with the rules' `default_country`
(lookup.duplicate_keys), so a new country makes the keys of existing records stale: a new record's
check (which keys with the new country) would miss them. `PUT /duplicates/rules/<entity>` that
changes the country starts a re-key of that entity here: one pointer item per entity
(`duplicate_rekey`, id the entity) holds the country, a `generation`, the state and the last id
done; one message on the directory's scans queue (`job` `directory.duplicate_rekey`) runs it in the
scan function.

The job reads the entity's records page by page (`by_type`, in id order, only the phone fields) and
rewrites the index entries (`lookup.stage_entries`, as `kontakt tenant reindex`) of each record with
a number without a country code (a `+` number's key does not depend on the country; records
without numbers keep their keys). Each record is its own transaction, on the conditions of the
record's version (a concurrent write: read again) and of the pointer's generation (a later change
of the country took over: this job stops, so an old country's keys never land after the new
one's). After each page the pointer's `after` moves, on the condition that it is where this
delivery found it; after `rekey_pages_per_message` pages the job puts its continuation on the
queue and returns, so no invocation holds a large tenant.

Restartable and idempotent: a crash or a redelivery resumes from the pointer's `after` (the page
in flight is done again: an entry as wanted is not rewritten, `shared.lookup.stage`); a twin
delivery of the same page loses the move of `after` and stops. A message of an older generation,
or of a completed job, does nothing.

The window: until the job has passed a record, a create's check (new country) does not find that
record by its national number (its email and name keys still find it), as before the job existed
between a change and `kontakt tenant reindex`; a write of the record whose request opened before
the change keys it with the old country (a request's duration: the rules are read when it opens).
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.directory.duplicate_scans import sqs
from services.directory.lookup import stage_entries
from services.directory.service import Caller, service_caller
from services.directory.settings import DirectorySettings
from services.directory.store import Placement, Record, new_record
from shared import clock
from shared.observability import logger
from shared.settings import load
from shared.store import ConcurrentUpdate, UnitOfWork, run_with_retries, tenant_key, update_if

REKEY = "duplicate_rekey"
REKEY_JOB = "directory.duplicate_rekey"
KINDS: dict[str, str] = {"contacts": "contact", "accounts": "account"}
PHONE_FIELDS: dict[str, tuple[str, ...]] = {"contact": ("phone", "mobile"), "account": ("phone",)}


class Rekey(BaseModel):
    """The last re-key of an entity's phone keys (see the module's docstring)."""

    country: str = Field(description="The `default_country` the keys are being (or were) re-keyed to")
    state: Literal["running", "completed"]
    records_read: int = Field(0, description="Records of the entity read so far")
    records_rekeyed: int = Field(0, description="Records with a number without a country code, re-keyed so far")
    requested_at: str
    finished_at: str | None = None


def latest(caller: Caller, entity: str) -> Rekey | None:
    pointer = caller.store.get(caller.tenant, REKEY, entity)
    return Rekey.model_validate(pointer.data) if pointer is not None else None


class Superseded(Exception):
    """A later change of the country (a new generation) took the re-key over."""


def needs_rekey(kind: str, data: dict[str, Any]) -> bool:
    """Whether a record's keys depend on the default country: it has a number without `+`."""
    if data.get("erased"):
        return False
    numbers = (str(data.get(name) or "").strip() for name in PHONE_FIELDS[kind])
    return any(number and not number.startswith("+") for number in numbers)


# ----------------------------------------------------------------------------- starting one


def stage_start(caller: Caller, uow: UnitOfWork, entity: str, before: str, country: str) -> int | None:
    """With the rules of `entity` saved with `country` in `uow` (`before`: the country they had):
    the pointer at a new generation, from the first record, when the country changed or when the
    last re-key is not a completed one of this country (a PUT repeated after a re-key could not be
    queued starts it again). The generation to `enqueue` once `uow` commits, or None."""
    pointer = caller.store.get(caller.tenant, REKEY, entity)
    if pointer is None and country == before:
        return None
    if pointer is not None and pointer.data["country"] == country and pointer.data["state"] == "completed":
        return None
    generation = int(pointer.data["generation"]) + 1 if pointer is not None else 1
    data = {
        "entity": entity,
        "country": country,
        "generation": generation,
        "state": "running",
        "records_read": 0,
        "records_rekeyed": 0,
        "requested_at": clock.now().isoformat(),
    }
    if pointer is None:
        caller.store.add(uow, new_record(caller.tenant, REKEY, entity, data, Placement()))
    else:
        caller.store.replace(uow, pointer, data)
    return generation


def enqueue(tenant_id: str, entity: str, generation: int) -> None:
    body = {"job": REKEY_JOB, "tenant_id": tenant_id, "entity": entity, "generation": generation}
    sqs().send_message(QueueUrl=load(DirectorySettings).scans_queue_url, MessageBody=json.dumps(body))


# ----------------------------------------------------------------------------- the job


def run_rekey_message(message: dict[str, Any]) -> None:
    caller = service_caller(str(message["tenant_id"]))
    run_rekey(caller, str(message["entity"]), int(message["generation"]), load(DirectorySettings))


def run_rekey(caller: Caller, entity: str, generation: int, settings: DirectorySettings) -> None:
    """Some pages of the re-key from where its pointer is; its continuation queued when not done."""
    pointer = caller.store.get(caller.tenant, REKEY, entity)
    if pointer is None or int(pointer.data["generation"]) != generation or pointer.data["state"] == "completed":
        logger.info("duplicate re-key superseded or done", extra={"entity": entity, "generation": generation})
        return
    kind, country = KINDS[entity], str(pointer.data["country"])
    after: str | None = pointer.data.get("after")
    for _ in range(settings.rekey_pages_per_message):
        page = _page(caller.tenant, kind, after, settings.scan_page_records)
        stale = [r.record_id for r in page if needs_rekey(kind, r.data)]
        try:
            for record_id in stale:
                run_with_retries(partial(_rekey_one, caller, pointer, kind, record_id, country, generation))
        except Superseded:
            logger.info("duplicate re-key superseded", extra={"entity": entity, "generation": generation})
            return
        done = len(page) < settings.scan_page_records
        moved = page[-1].record_id if page else after
        if not _advance(pointer, generation, after, moved, len(page), len(stale), done):
            logger.info("duplicate re-key moved by another delivery", extra={"entity": entity})
            return
        if done:
            logger.info("duplicate re-key completed", extra={"entity": entity, "country": country})
            return
        after = moved
    enqueue(caller.tenant, entity, generation)


def _page(tenant_id: str, kind: str, after: str | None, size: int) -> list[Record]:
    """The next page of the kind's records after `after`, with only the fields the re-key reads."""
    fields = [*PHONE_FIELDS[kind], "erased"]
    attributes = ["pk", *(f"{Record.fields.attr_name}.{name}" for name in fields)]
    condition = Record.gsi1sk > after if after else None
    key = tenant_key(tenant_id, kind.upper())
    return list(Record.by_type.query(key, range_key_condition=condition, limit=size, attributes_to_get=attributes))


def _rekey_one(caller: Caller, pointer: Record, kind: str, record_id: str, country: str, generation: int) -> None:
    """The record's index entries with `country`'s keys, if any differ: on the record's version
    and the pointer's generation."""
    store = caller.store
    record = store.get(caller.tenant, kind, record_id)
    if record is None:
        return  # deleted meanwhile: its delete took its entries
    uow = UnitOfWork()
    stage_entries(uow, caller.tenant, kind, record_id, record.data, record.version or 1, new=False, country=country)
    if not len(uow):
        return  # keyed with this country already (a page done again)
    uow.check(Record, record.pk, record.sk, Record.version == record.version, ConcurrentUpdate)
    uow.check(Record, pointer.pk, pointer.sk, Record.fields["generation"] == generation, Superseded)
    uow.commit()


def _advance(
    pointer: Record, generation: int, after: str | None, moved: str | None, read: int, rekeyed: int, done: bool
) -> bool:
    """Move the pointer past a page; False when another delivery or generation moved it first."""
    fields = Record.fields
    actions = [fields["records_read"].add(read), fields["records_rekeyed"].add(rekeyed)]
    if moved is not None:
        actions.append(fields["after"].set(moved))
    if done:
        actions += [fields["state"].set("completed"), fields["finished_at"].set(clock.now().isoformat())]
    where = fields["after"].does_not_exist() if after is None else fields["after"] == after
    condition = (fields["generation"] == generation) & where
    return update_if(pointer, actions, condition)
