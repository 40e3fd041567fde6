"""Merged contacts in the email service (`contact.merged`, services/email/merges.py) through
`kontakt dev`: the merged contacts' mails move to the survivor's history, each once; their
opt-outs and suppressions hold for the survivor's address (a send to it is not sent, nor a
campaign mail queued for it before the merge); the
survivor's copy takes the merge's record; old ids resolve to the survivor; a late event of a
merged contact re-creates nothing; a crash after each of the first writes (a marker, another, the
first moved mail) and a second delivery leave every reference on the survivor exactly once.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from infra.faults import Fault
from infra.runtime import LocalRuntime
from shared.ids import derived_id, new_id
from tests.e2e.conftest import Api
from tests.e2e.email.helpers import TABLE, put_record, request_mail, stored_message
from tests.e2e.helpers import (
    assert_moved,
    created,
    drain,
    envelopes,
    merge_envelope,
    new_tenant,
    ok,
    put_envelope,
    quick_redelivery,
    settle,
    stored_data,
)

EVENTS_QUEUE = "kontakt-dev-email-events"
ANNA, BEA, CECILIA = "anna.merge@example.fi", "bea.merge@example.fi", "cecilia.merge@example.fi"
TEMPLATE = {"name": "Greeting", "subject": "Hi {{ contact.first_name }}", "html": "<p>{{ contact.first_name }}</p>"}


def _settle(stack: LocalRuntime, ready: Any) -> Any:
    return settle(stack, ready, attempts=30, timeout=10, busy_ok=True)


@pytest.fixture(scope="module")
def office(session_api: Api, stack: LocalRuntime) -> dict[str, Any]:
    """Three contacts, each mailed (Bea twice), Bea opted out of marketing, Cecilia's address
    suppressed (a hard bounce), a template to preview them with, and a paused campaign (service
    notices) whose mails to Anna and Bea are both queued."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    ids = {
        name: admin.post("/contacts", json={"first_name": name.title(), "email": address}).json()["id"]
        for name, address in (("anna", ANNA), ("bea", BEA), ("cecilia", CECILIA))
    }
    template = admin.post("/email/templates", json=TEMPLATE).json()["id"]
    put_record(stack, tenant, "suppression", derived_id(CECILIA), {"address": CECILIA, "reason": "hard_bounce"})
    mails = {
        name: [request_mail(stack, tenant, to=address, contact_id=ids[name], subject="Hello", html="<p>Hello</p>")]
        for name, address in (("anna", ANNA), ("bea", BEA), ("cecilia", CECILIA))
    }
    mails["bea"].append(request_mail(stack, tenant, to=BEA, contact_id=ids["bea"], subject="Again", html="<p>x</p>"))
    opt_out = admin.post("/email/list-types/marketing/opt-outs", json={"address": BEA, "contact_id": ids["bea"]})
    assert opt_out.status_code == 201, opt_out.text
    every = [m for found in mails.values() for m in found]
    done = ("sent", "delivered", "suppressed")
    assert _settle(stack, lambda: all(stored_message(stack, tenant, m).get("status") in done for m in every)), [
        stored_message(stack, tenant, m).get("status") for m in every
    ]
    assert _settle(stack, lambda: all(preview(admin, template, ids[n]) for n in ids))
    return {"tenant": tenant, "admin": admin, "ids": ids, "template": template, "mails": mails} | notice(
        stack, admin, template, [ids["anna"], ids["bea"]]
    )


def notice(stack: LocalRuntime, admin: Api, template: str, contact_ids: list[str]) -> dict[str, Any]:
    """A campaign to the contacts, paused with every mail queued."""
    group = created(admin.post("/target-groups", json={"name": "Both", "contact_ids": contact_ids}))
    body = {
        "name": "Notice",
        "template_id": template,
        "list_type_id": "service-notices",
        "target_group_id": group["id"],
    }
    campaign = created(admin.post("/campaigns", json=body))
    ok(admin.post(f"/campaigns/{campaign['id']}/send"))
    ok(admin.post(f"/campaigns/{campaign['id']}/pause"))

    def held() -> bool:
        found = ok(admin.get(f"/campaigns/{campaign['id']}"))
        return bool(found["audience"]["complete"] and found["stats"]["queued"] == len(contact_ids))

    assert _settle(stack, held)
    queued = [derived_id(campaign["once_scope"], c) for c in contact_ids]
    return {"campaign": campaign["id"], "queued": queued}


def preview(admin: Api, template: str, contact_id: str) -> str | None:
    response = admin.post(f"/email/templates/{template}/preview", json={"contact_id": contact_id})
    return str(response.json()["subject"]) if response.status_code == 200 else None


def history(admin: Api, contact_id: str) -> list[str]:
    return [m["id"] for m in admin.get("/email/messages", params={"contact_id": contact_id}).json()["items"]]


def opt_outs(admin: Api, list_type: str = "marketing") -> list[tuple[str, str | None]]:
    items = admin.get(f"/email/list-types/{list_type}/opt-outs", params={"limit": 100}).json()["items"]
    return sorted((o["address"], o.get("contact_id")) for o in items)


def state(admin: Api, ids: dict[str, str]) -> dict[str, Any]:
    return {
        "histories": {n: history(admin, i) for n, i in ids.items()},
        "mails": {m: admin.get(f"/email/messages/{m}").json()["contact_id"] for m in history(admin, ids["anna"])},
        "opt_outs": opt_outs(admin),
    }


def test_a_merge_killed_midway_moves_every_mail_and_keeps_every_consent_once(
    office: dict[str, Any], stack: LocalRuntime
) -> None:
    admin, ids, tenant, mails = office["admin"], office["ids"], office["tenant"], office["mails"]
    survivor = admin.get(f"/contacts/{ids['anna']}").json()
    record = {**survivor, "first_name": "Anna-Bea", "version": int(survivor["version"]) + 1}
    envelope = merge_envelope(tenant, "contact", record, [ids["bea"], ids["cecilia"]])
    drain(stack, busy_ok=True)
    assert stack.functions is not None
    killed = [Fault("dynamodb", "TransactWriteItems", "after") for _ in range(3)]  # each fires once, in turn
    with (
        quick_redelivery(stack, EVENTS_QUEUE),
        stack.functions.configured("EmailConsumerFunction", faults=killed) as armed,
    ):
        put_envelope(stack, envelope)
        assert _settle(stack, lambda: preview(admin, office["template"], ids["anna"]) == "Hi Anna-Bea")
        assert all(f.fired for f in armed)  # killed after both markers and after the first moved mail

    # Every mail is in the survivor's history once; none is left under a merged contact.
    after = state(admin, ids)
    every = [m for found in mails.values() for m in found] + office["queued"]
    assert Counter(after["histories"]["anna"]) == Counter(every)
    for name in ("bea", "cecilia"):  # a merged contact's history: 301 to the survivor's
        assert_moved(admin, "/email/messages", ids[name], ids["anna"], contact_id=ids[name], limit=10)
    assert set(after["mails"].values()) == {ids["anna"]}
    # Bea's opt-out holds for the survivor's address too, and names the survivor.
    assert after["opt_outs"] == [(ANNA, ids["anna"]), (BEA, ids["anna"])]

    # Delivered again: nothing changes.
    put_envelope(stack, {**envelope, "id": new_id()})
    drain(stack, busy_ok=True)
    assert state(admin, ids) == after

    # The paused campaign held a mail for Anna and one for Bea, queued before the merge: resumed,
    # Bea's is skipped (the survivor gets the campaign's mail once) and Anna's is not sent either:
    # her address took Cecilia's suppression in the merge, which the sender reads at send time.
    ok(admin.post(f"/campaigns/{office['campaign']}/resume"))
    done = _settle(stack, lambda: (c := ok(admin.get(f"/campaigns/{office['campaign']}")))["status"] == "sent" and c)
    counts = tuple(done["stats"][n] for n in ("sent", "skipped", "suppressed", "opted_out", "queued"))
    assert counts == (0, 1, 1, 0, 0), done["stats"]
    own, moved = office["queued"]
    assert stored_message(stack, tenant, own)["status"] == "suppressed"
    skipped = ok(admin.get(f"/email/messages/{moved}"))
    assert (skipped["status"], skipped["contact_id"]) == ("skipped", ids["anna"]), skipped

    # An old id resolves to the survivor: a preview, a send request naming it. Cecilia's
    # suppression holds for the survivor's address: the mail is not sent.
    assert preview(admin, office["template"], ids["bea"]) == "Hi Anna-Bea"
    late = request_mail(stack, tenant, to=ANNA, contact_id=ids["cecilia"], subject="Hi", list_type_id="marketing")
    assert _settle(stack, lambda: stored_message(stack, tenant, late).get("status") == "suppressed")
    assert admin.get(f"/email/messages/{late}").json()["contact_id"] == ids["anna"]
    assert late in history(admin, ids["anna"])

    # A campaign's contact added by hand under an old id is the survivor, and is not mailed.
    body = {"name": "Welcome", "template_id": office["template"], "list_type_id": "marketing"}
    campaign = admin.post("/campaigns", json={**body, "automatic_template_id": office["template"]}).json()
    added = admin.post(f"/campaigns/{campaign['id']}/contacts", json={"contact_ids": [ids["bea"], ids["anna"]]})
    assert [(i["contact_id"], i["status"]) for i in added.json()["items"]] == [(ids["anna"], "suppressed")]

    # A refusal naming a merged contact (a link in an old mail) holds for the survivor's address too.
    refusal = {"address": BEA, "contact_id": ids["bea"]}
    assert admin.post("/email/list-types/service-notices/opt-outs", json=refusal).status_code == 201
    assert opt_outs(admin, "service-notices") == [(ANNA, ids["anna"]), (BEA, ids["anna"])]

    # A late update of a merged contact re-creates no copy of it.
    [created] = [e for e in envelopes(stack, tenant, "contact.created") if e["data"]["id"] == ids["bea"]]
    data = created["data"]
    late_update = {**data, "record": {**data["record"], "first_name": "Late", "version": 9}}
    put_envelope(stack, {**created, "id": new_id(), "type": "contact.updated", "data": late_update})
    drain(stack, busy_ok=True)
    assert stored_data(stack, TABLE, tenant, "recipient", ids["bea"]) == {"gone": "merged"}
    assert preview(admin, office["template"], ids["bea"]) == "Hi Anna-Bea"
