"""The demo data `kontakt dev` loads goes through the API and leaves something to look at in every view."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import requests

from infra import demo, devpage
from infra.runtime import LocalRuntime
from tests.e2e.helpers import settle


def test_demo_data_loads_once_and_fills_the_views(stack: LocalRuntime, api: Any) -> None:
    summary = demo.load(stack)
    assert summary["accounts"] == len(demo.ACCOUNTS) and summary["contacts"] == demo.CONTACT_COUNT
    assert summary["activities"] >= 8 and summary["contact_orders"] == 1
    assert demo.load(stack)["skipped"] is True

    admin = api.as_(demo.TENANT, demo.ADMIN, "admin")
    rows = settle(
        stack,
        lambda: [
            r for r in admin.get("/call-list", params={"mode": "contacts"}).json()["items"] if r.get("latest_event")
        ],
    )
    assert len(rows) == 3 and all(r["latest_event"]["subject"].startswith("Call with") for r in rows)
    accounts = admin.get("/call-list", params={"mode": "accounts"}).json()["items"]
    assert "Old Mill Oy" not in [a["name"] for a in accounts]  # ceased: only when asked for
    seller = admin.get("/users").json()["items"][0]["id"]
    todo = admin.get("/todo", params={"user_id": seller}).json()["items"]
    assert {i["kind"] for i in todo} >= {"task"}
    orders = admin.get("/contact-orders").json()["items"]
    assert [o["subject"] for o in orders] == ["Annual maintenance"]
    campaign = settle(
        stack,
        lambda: (c := admin.get(f"/campaigns/{summary['campaign']}").json())["status"] == "sent" and c,
    )
    assert campaign and campaign["stats"]["sent"] > 0, admin.get(f"/campaigns/{summary['campaign']}").json()
    assert admin.get("/sms/settings").json()["active"] is True
    assert summary["sms_credits"] == 500
    sms = settle(stack, lambda: (s := admin.get(f"/sms/sends/{summary['sms_send']}").json())["status"] == "sent" and s)
    assert sms and sms["stats"]["recipients"] > 0, admin.get(f"/sms/sends/{summary['sms_send']}").json()
    assert sms["stats"]["sent"] + sms["stats"]["delivered"] == sms["credits"] > 0
    assert admin.get("/sms/balance").json()["available"] == 500 - sms["credits"]
    endpoint = admin.get(f"/webhooks/endpoints/{summary['webhook_endpoint']}").json()
    assert endpoint["url"] == summary["webhook_receiver"] == f"{stack.api_url}/dev/webhooks/{demo.WEBHOOK_NAME}"
    assert endpoint["enabled"] is True and endpoint["event_types"] == ["contact.*", "account.*"]
    runs = settle(stack, lambda: admin.get(f"/workflows/{summary['workflow']}/runs").json()["items"])
    assert [(r["record_id"], r["status"], r["steps"][0]["outcome"]) for r in runs] == [
        (summary["workflow_contact"], "completed", "requested")
    ]
    [panel] = [p for p in devpage.state(stack)["panels"] if p["name"] == "workflow-runs"]
    [row] = [r for r in panel["data"] if r["tenant"] == demo.TENANT]
    assert (row["workflow"], row["status"], row["steps"]) == (
        "Welcome a won customer",
        "completed",
        "send_email requested, create_task requested, call_webhook requested",
    )
    received = f"{stack.api_url}/dev/webhooks"

    def calls() -> list[dict[str, Any]]:
        answer = requests.get(received, params={"name": demo.WEBHOOK_NAME}, timeout=10).json()
        return [r for r in answer if r["type"] == "webhook.workflow_call"]

    assert settle(stack, calls)  # the workflow's call reached the receiver
    key = {"Authorization": f"Bearer {summary['api_key_secret']}"}  # the read-only demo key
    assert requests.get(f"{stack.api_url}/contacts", headers=key, timeout=60).status_code == 200
    [keys] = [p for p in devpage.state(stack)["panels"] if p["name"] == "api-keys"]
    assert [k["status"] for k in keys["data"] if k["tenant"] == demo.TENANT] == ["active"]
    assert summary["api_key_secret"].rsplit(".", 1)[1] not in str(keys["data"])

    mailbox = admin.get(f"/scanner/mailboxes/{summary['support_mailbox']}").json()
    assert mailbox["address"] == summary["support_address"] == f"{demo.SUPPORT_MAILBOX}@kontakt.test"
    assert mailbox["active"] is True and mailbox["auto_reply"]["enabled"] is True
    [rule] = admin.get(f"/scanner/mailboxes/{mailbox['id']}/rules").json()["items"]
    assert rule["id"] == summary["scanner_rule"]
    assert rule["actions"]["category"] == "billing" and rule["actions"]["priority"] == "high"
    params = {"mailbox_id": mailbox["id"]}
    tickets = settle(
        stack,
        lambda: (
            (t := admin.get("/tickets", params=params).json()["items"])
            and sum(x["article_count"] for x in (admin.get(f"/tickets/{i['id']}").json() for i in t)) == 3
            and t
        ),
    )
    assert tickets, admin.get("/tickets", params=params).json()
    by_subject = {t["subject"]: admin.get(f"/tickets/{t['id']}").json() for t in tickets}
    invoice, printer = by_subject["Lasku 4711 on väärin"], by_subject["Printer offline"]
    assert invoice["category"] == "billing" and invoice["priority"] == "high"  # the rule
    assert invoice["article_count"] == 2  # the answer threaded onto it
    contact = admin.get(f"/contacts/{invoice['requester_contact_id']}").json()
    assert contact["email"] == invoice["requester_email"]  # the requester is the demo contact
    assert printer["category"] is None and printer["requester_contact_id"] is None
    _assert_invoices(stack, admin, summary)
    _assert_duplicates(stack, admin, summary)
    acknowledged = settle(stack, lambda: _sent_to(stack, "pekka@customer.example"))
    assert acknowledged and acknowledged[0]["From"].addresses[0].addr_spec == summary["support_address"]
    assert acknowledged[0]["Auto-Submitted"] == "auto-replied"  # the mailbox's acknowledgement went out


def _assert_invoices(stack: LocalRuntime, admin: Any, summary: dict[str, Any]) -> None:
    """The demo's recurring orders were billed up to today by a run that issued the invoices (numbered,
    due, their PDF and Finvoice rendered), for Acme Oy, by the seller the settings name."""
    settings = admin.get("/invoicing/settings").json()
    assert settings["seller"]["name"] == demo.SELLER["name"] and settings["issue_on_run"] is True
    orders = [admin.get(f"/sales-orders/{i}").json() for i in summary["sales_orders"]]
    assert [(o["interval"], o["status"]) for o in orders] == [("monthly", "active"), ("quarterly", "active")]
    run = admin.get(f"/invoicing/runs/{summary['invoicing_run']}").json()
    periods = demo.MONTHLY_MONTHS_AGO + demo.QUARTERLY_MONTHS_AGO // 3
    assert run["state"] == "done" and run["periods_billed"] == periods and run["problems"] == []
    listed = admin.get("/invoices", params={"limit": 100}).json()["items"]
    assert len(listed) == periods and {i["customer_name"] for i in listed} == {"Acme Oy"}
    assert sorted(i["number"] for i in listed) == summary["invoices"] and len(set(summary["invoices"])) == periods
    assert all(i["status"] == "issued" and i["due_date"] and float(i["totals"]["gross"]) > 0 for i in listed)
    for item in listed:
        invoice = admin.get(f"/invoices/{item['id']}").json()
        assert invoice["reference"] and invoice["barcode"]
        links = invoice["documents"]
        assert links, invoice
        pdf = requests.get(links["pdf_url"], timeout=10)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        xml = requests.get(links["finvoice_url"], timeout=10)
        assert xml.status_code == 200 and b"<Finvoice" in xml.content

    # the console page (kontakt dev's /dev) lists them in its "Invoices" panel, each with its PDF link
    [panel] = [p for p in devpage.state(stack)["panels"] if p["name"] == "invoices"]
    assert panel["title"] == "Invoices"
    rows = sorted((r for r in panel["data"] if r["tenant"] == demo.TENANT), key=lambda r: r["number"])
    by_id = {i["id"]: i for i in listed}
    assert [(r["number"], r["customer"], r["status"], r["total"], r["due"]) for r in rows] == [
        (i["number"], "Acme Oy", "issued", f"{i['totals']['gross']} EUR", i["due_date"])
        for i in sorted(listed, key=lambda i: i["number"])
    ]
    assert {r["id"] for r in rows} == set(by_id)
    pdf = requests.get(rows[0]["pdf"], timeout=10)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def _assert_duplicates(stack: LocalRuntime, admin: Any, summary: dict[str, Any]) -> None:
    """The demo's scans found its duplicates (the two contact copies not merged, the account copy),
    its merged copy answers 301 with the survivor, the console's Duplicates panel shows both scans
    and the merge, and the banner's lines name the list and the merged id."""
    scans = summary["duplicate_scans"]
    done = settle(
        stack,
        lambda: [
            s for i in scans.values() if (s := admin.get(f"/duplicates/scans/{i}").json())["state"] == "completed"
        ],
    )
    assert len(done) == 2, [admin.get(f"/duplicates/scans/{i}").json() for i in scans.values()]
    copies = summary["duplicate_contacts"]
    groups = [g["records"] for g in admin.get("/duplicates", params={"entity": "contacts"}).json()["items"]]
    assert len(groups) == len(copies) and all(len(g) == 2 and len(set(g) & set(copies)) == 1 for g in groups), groups
    [accounts] = [g["records"] for g in admin.get("/duplicates", params={"entity": "accounts"}).json()["items"]]
    assert summary["duplicate_account"] in accounts and len(accounts) == 2
    merge = summary["merge"]
    moved = admin.get(f"/contacts/{merge['merged']}", allow_redirects=False)
    assert moved.status_code == 301 and moved.headers["Location"] == f"/contacts/{merge['survivor']}"
    assert merge["fields"] == {"phone": merge["merged"]}  # the survivor took the copy's landline

    [panel] = [p for p in devpage.state(stack)["panels"] if p["name"] == "duplicates"]
    shown = {s["id"]: s for s in panel["data"]["scans"] if s["tenant"] == demo.TENANT}
    assert {i: (s["state"], s["records read"], s["groups found"]) for i, s in shown.items()} == {
        i: ("completed", s["records_read"], s["groups_found"]) for i, s in zip(scans.values(), done, strict=True)
    }
    assert [(m["id"], m["survivor"], m["merged"]) for m in panel["data"]["merges"] if m["tenant"] == demo.TENANT] == [
        (merge["id"], merge["survivor"], [merge["merged"]])
    ]
    steps = "\n".join(demo.next_steps(summary, stack.api_url))
    assert f"{stack.api_url}/duplicates?entity=contacts" in steps and f"/contacts/{merge['merged']}" in steps


def _sent_to(stack: LocalRuntime, to: str) -> list[EmailMessage]:
    """The mails the email service wrote into the runtime's mail folder for `to`."""
    assert stack.mail_dir is not None
    mails = [message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(stack.mail_dir.glob("*.eml"))]
    return [m for m in mails if isinstance(m, EmailMessage) and str(m["To"]).lower() == to]
