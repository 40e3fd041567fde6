"""Merged contacts and accounts reach the scanner (issue 24 items 4-5): `contact.merged` moves the
merged contact's tickets to the survivor, once, through a crash after each of its first writes
(up to its first moved ticket) and a second delivery; `account.merged` moves the tickets' account;
a late event about the merged contact brings nothing of it back.

One test, one tenant: the test time is scarce.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.faults import Fault
from infra.runtime import LocalRuntime
from shared.ids import new_id
from tests.e2e.conftest import Api
from tests.e2e.helpers import (
    assert_moved,
    created,
    drain,
    envelopes,
    merge_envelope,
    ok,
    put_envelope,
    quick_redelivery,
    settle,
    walk,
)
from tests.e2e.scanner.helpers import await_tickets, mailbox, message, post_raw

pytestmark = pytest.mark.failed_deliveries  # the killed deliveries fail on purpose

EVENTS_QUEUE = "kontakt-dev-scanner-events"


def requesters(admin: Api, box: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    found = walk(admin, "/tickets", limit=50, mailbox_id=box["id"])
    return sorted((t["id"], t["requester_contact_id"], t["requester_account_id"]) for t in found)


def test_merges_move_tickets_once_through_crashes_and_redeliveries(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    kept_account = created(admin.post("/accounts", json={"name": "Kept Oy"}))
    gone_account = created(admin.post("/accounts", json={"name": "Gone Oy"}))
    survivor = created(
        admin.post(
            "/contacts", json={"first_name": "Sara", "email": "sara@example.fi", "account_id": kept_account["id"]}
        )
    )
    gone = created(
        admin.post(
            "/contacts", json={"first_name": "Sari", "email": "sari@example.fi", "account_id": gone_account["id"]}
        )
    )
    box = mailbox(admin)
    drain(stack)  # the scanner's contacts projection has them
    for n, sender in enumerate(["sari@example.fi", "sari@example.fi", "sara@example.fi"]):
        raw = bytes(message(box["address"], subject=f"Asia {n}", sender=sender))
        assert post_raw(admin, box["id"], raw).status_code == 202
    tickets = await_tickets(stack, admin, box["id"], 3)
    theirs = sorted(t["id"] for t in tickets if t["requester_contact_id"] == gone["id"])
    assert len(theirs) == 2 and {t["requester_account_id"] for t in tickets} == {kept_account["id"], gone_account["id"]}

    # The directory merged Sari into Sara: killed after each of its first four writes, one a delivery
    # (the marker, Sari's projection row buried, Sara's row refreshed, the first moved ticket).
    record = ok(admin.get(f"/contacts/{survivor['id']}"))
    merged = merge_envelope(tenant, "contact", {**record, "version": record["version"] + 1}, [gone["id"]])
    kills = [Fault("dynamodb", "TransactWriteItems", "after") for _ in range(4)]
    drain(stack)
    assert stack.functions is not None
    with (
        quick_redelivery(stack, EVENTS_QUEUE),
        stack.functions.configured("ScannerConsumerFunction", faults=kills) as armed,
    ):
        put_envelope(stack, merged)
        assert settle(stack, lambda: all(f.fired for f in armed) and gone["id"] not in str(requesters(admin, box)))
    after = requesters(admin, box)
    assert [t[1] for t in after] == [survivor["id"]] * 3  # each ticket once, on the survivor
    assert sorted(t["id"] for t in walk(admin, "/tickets", contact_id=survivor["id"])) == sorted(t[0] for t in after)
    assert_moved(admin, "/tickets", gone["id"], survivor["id"], contact_id=gone["id"], limit=2)  # old links
    assert walk(admin, "/tickets", contact_id=gone["id"]) == walk(admin, "/tickets", contact_id=survivor["id"])
    moves = [e for e in envelopes(stack, tenant, "ticket.updated") if e["data"]["changed"] == ["requester_contact_id"]]
    assert sorted(e["data"]["id"] for e in moves) == theirs  # one event a moved ticket

    # Delivered again (past the dedupe), and a late update of the merged contact: nothing changes, and
    # a new mail from the merged contact's address finds no requester (its row is gone).
    put_envelope(stack, {**merged, "id": new_id()})
    [late] = [e for e in envelopes(stack, tenant, "contact.created") if e["data"]["id"] == gone["id"]]
    put_envelope(stack, {**late, "id": new_id(), "type": "contact.updated"})
    drain(stack, busy_ok=True)
    assert requesters(admin, box) == after
    assert len([e for e in envelopes(stack, tenant, "ticket.updated") if e["data"]["id"] in theirs]) == 2
    raw = bytes(message(box["address"], subject="Taas", sender="sari@example.fi"))
    assert post_raw(admin, box["id"], raw).status_code == 202
    [new] = [t for t in await_tickets(stack, admin, box["id"], 4) if t["subject"] == "Taas"]
    assert new["requester_contact_id"] is None

    # The accounts merged too (delivered twice): the tickets that named the merged account name the survivor.
    account = ok(admin.get(f"/accounts/{kept_account['id']}"))
    accounts = merge_envelope(tenant, "account", {**account, "version": account["version"] + 1}, [gone_account["id"]])
    for _ in range(2):
        put_envelope(stack, {**accounts, "id": new_id()})
        drain(stack, busy_ok=True)
        found = requesters(admin, box)
        assert [t[2] for t in found if t[0] != new["id"]] == [kept_account["id"]] * 3
    account_moves = [
        e for e in envelopes(stack, tenant, "ticket.updated") if e["data"]["changed"] == ["requester_account_id"]
    ]
    assert sorted(e["data"]["id"] for e in account_moves) == theirs
