"""Scanner rules of a mailbox: admins write them, every user of the tenant reads them; the inbound
function applies them to each mail that would open a new ticket (`for_mailbox`, `domain/rules.py`).

Records:
- kind "rule", id = a new id, data {mailbox_id, name, active, match, conditions, actions, stop,
  created_by, created_at, updated_at}: listed under its mailbox (`by_parent`,
  `T#<t>#MAILBOX#<id>#RULE` / rule id);
- kind "rule_order", id = the mailbox id, data {rule_ids}: the mailbox's rules in order. A rule's
  `position` is its place in that list (1 first).

Reordering is safe under concurrency: every write that changes the order (create, a PATCH with
`position`, delete) writes the order record on the condition of the version it read, in the
transaction that writes the rule; a concurrent writer's commit makes the other read again and
place its rule in the new order (`shared.service.commit`). `If-RuleMatch` on a rule's PATCH or DELETE
is evaluated on that rule (a move changes the rule's version too, so a client that moved it holds
a current ETag).
"""

from __future__ import annotations

from typing import Any

from services.scanner import mailboxes
from services.scanner.domain.rules import MAX_RULES, Rule, RuleCreate, RulePatch, invalid_patterns
from services.scanner.service import Caller
from services.scanner.store import Record
from shared import clock
from shared.errors import FieldError, NotFound, ValidationFailed
from shared.ids import new_id
from shared.pagination import Page, decode_cursor, encode_cursor
from shared.service import commit, patch_changes
from shared.store import UnitOfWork, record_key, run_with_retries, tenant_key

RULE = "rule"
ORDER = "rule_order"


def _parent_key(tenant: str, mailbox_id: str) -> str:
    return tenant_key(tenant, "MAILBOX", mailbox_id, RULE.upper())


def _check_patterns(conditions: list[dict[str, Any]]) -> None:
    bad = invalid_patterns(conditions)
    if bad:
        errors = [FieldError(field=f"conditions.{n}.value", message=why, code="invalid_pattern") for n, why in bad]
        raise ValidationFailed("A regular expression of the rule is not valid.", errors)


def _order(caller: Caller, mailbox_id: str) -> Record:
    """The mailbox's order record, read consistently (a new, unsaved one while it has no rules).
    Read past the store's `get`: it is never the record a request's If-RuleMatch names."""
    try:
        return Record.get(record_key(caller.tenant, ORDER, mailbox_id), ORDER.upper(), consistent_read=True)
    except Record.DoesNotExist:
        return caller.store.new(caller.tenant, ORDER, mailbox_id, {"rule_ids": []})


def _stage_order(uow: UnitOfWork, caller: Caller, order: Record, rule_ids: list[str]) -> None:
    if order.version:
        caller.store.replace(uow, order, order.data | {"rule_ids": rule_ids})
    else:
        order.data = order.data | {"rule_ids": rule_ids}
        caller.store.add(uow, order)


def _ids(order: Record) -> list[str]:
    return [str(i) for i in order.data.get("rule_ids") or []]


def _shown(record: Record, ids: list[str]) -> Rule:
    position = ids.index(record.record_id) + 1 if record.record_id in ids else len(ids) + 1
    return Rule.model_validate({"id": record.record_id, **record.data, "position": position, "version": record.version})


def _rule(caller: Caller, mailbox_id: str, rule_id: str) -> Record:
    mailboxes.record(caller, mailbox_id)
    found = caller.store.get(caller.tenant, RULE, rule_id)
    if found is None or found.data.get("mailbox_id") != mailbox_id:
        raise NotFound(f"No rule {rule_id} in mailbox {mailbox_id}.")
    return found


def _placed(ids: list[str], rule_id: str, position: int | None) -> list[str]:
    rest = [i for i in ids if i != rule_id]
    at = len(rest) if position is None else min(max(position - 1, 0), len(rest))
    return [*rest[:at], rule_id, *rest[at:]]


def ordered_rules(caller: Caller, mailbox_id: str) -> tuple[list[Record], list[str]]:
    """The mailbox's rules in their order (one Get and one Query), and the order's ids."""
    ids = _ids(_order(caller, mailbox_id))
    records = {r.record_id: r for r in Record.by_parent.query(_parent_key(caller.tenant, mailbox_id))}
    known = [i for i in ids if i in records]
    return [records[i] for i in known], known


def for_mailbox(caller: Caller, mailbox_id: str) -> list[dict[str, Any]]:
    """What `domain.rules.evaluate` takes: the mailbox's rules in order."""
    return [{"id": r.record_id, **r.data} for r in ordered_rules(caller, mailbox_id)[0]]


def list_rules(caller: Caller, mailbox_id: str, cursor: str | None, limit: int) -> Page[Rule]:
    """The mailbox's rules in their order; the cursor names the place after the page's last rule."""
    mailboxes.record(caller, mailbox_id)
    records, ids = ordered_rules(caller, mailbox_id)
    scope = f"{caller.tenant}:rules:{mailbox_id}"
    start = int(decode_cursor(cursor, scope, caller.signing_key).get("p", 0)) if cursor else 0
    items = [_shown(r, ids) for r in records[start : start + limit]]
    more = start + limit < len(records)
    next_cursor = encode_cursor({"p": start + limit}, scope, caller.signing_key) if more else None
    return Page[Rule](items=items, next_cursor=next_cursor)


def get_rule(caller: Caller, mailbox_id: str, rule_id: str) -> Rule:
    record = _rule(caller, mailbox_id, rule_id)
    return _shown(record, _ids(_order(caller, mailbox_id)))


def create_rule(caller: Caller, mailbox_id: str, body: RuleCreate) -> Rule:
    caller.require_admin()
    data = body.model_dump(mode="json", exclude={"position"})
    _check_patterns(data["conditions"])
    rule_id = new_id()

    def run() -> Rule:
        mailboxes.record(caller, mailbox_id)
        order = _order(caller, mailbox_id)
        if len(_ids(order)) >= MAX_RULES:
            raise ValidationFailed.on("position", f"A mailbox has at most {MAX_RULES} rules.", "too_many")
        at = clock.now().isoformat()
        record = caller.store.new(
            caller.tenant,
            RULE,
            rule_id,
            data | {"mailbox_id": mailbox_id, "created_by": caller.user_id, "created_at": at, "updated_at": at},
        )
        record.gsi3pk, record.gsi3sk = _parent_key(caller.tenant, mailbox_id), rule_id
        ids = _placed(_ids(order), rule_id, body.position)
        uow = UnitOfWork()
        caller.store.add(uow, record)
        _stage_order(uow, caller, order, ids)
        uow.commit()
        return _shown(record, ids)

    return commit(run)


def change_rule(caller: Caller, mailbox_id: str, rule_id: str, body: RulePatch) -> Rule:
    caller.require_admin()
    changes = body.model_dump(mode="json", exclude_unset=True)
    position = changes.pop("position", None)
    if "conditions" in changes:
        _check_patterns(changes["conditions"])

    def run() -> Rule:
        record = _rule(caller, mailbox_id, rule_id)
        order = _order(caller, mailbox_id)
        ids = _ids(order)
        moved = _placed(ids, rule_id, position) if position is not None else ids
        if not patch_changes(record.data, dict(changes)) and moved == ids:
            return _shown(record, ids)
        uow = UnitOfWork()
        caller.store.replace(uow, record, record.data | changes | {"updated_at": clock.now().isoformat()})
        if moved != ids:
            _stage_order(uow, caller, order, moved)
        uow.commit()
        return _shown(record, moved)

    return commit(run)


def delete_rule(caller: Caller, mailbox_id: str, rule_id: str) -> None:
    caller.require_admin()

    def run() -> None:
        record = _rule(caller, mailbox_id, rule_id)
        order = _order(caller, mailbox_id)
        uow = UnitOfWork()
        caller.store.remove(uow, record)
        if rule_id in _ids(order):
            _stage_order(uow, caller, order, [i for i in _ids(order) if i != rule_id])
        uow.commit()

    run_with_retries(run)
