"""Transactional mail [issue 5 item 5]: `email.send_requested` on the bus -> one mail through SES
(moto records it), one message record in the contact's history, one `email.sent`."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from typing import Any

import pytest

from infra.runtime import LocalRuntime
from infra.template import LOCAL_PARAMETERS
from shared.ids import derived_id, new_id
from tests.e2e.conftest import Api
from tests.e2e.email.helpers import put_record, raw_sent, send_requested, sent_mails
from tests.e2e.helpers import assert_problem, envelopes, new_tenant, ok, put_envelope, settle
from tests.mail_wire import assert_one_click_on_the_wire

DOMAIN = LOCAL_PARAMETERS["SendingDomain"]  # the local stack's SendingDomain, its SES identity
BUCKET = "kontakt-test-email-attachments"  # a requester's own bucket: the sender may not read it


def _files_bucket(stack: LocalRuntime) -> str:
    """Where a requester puts a mail's attachments (under requests/{tenant}/)."""
    assert stack.stack is not None
    return stack.stack.buckets["EmailFilesBucket"].name


@pytest.fixture(scope="module", autouse=True)
def verified_domain(stack: LocalRuntime) -> None:
    """A requester's own bucket (the sending domain is the template's SES identity)."""
    s3 = stack.client("s3")
    region = s3.meta.region_name
    where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=BUCKET, **where)


def _request(tenant: str, **data: Any) -> dict[str, Any]:
    return send_requested(tenant, **{"to": "Anna@Example.com", "subject": "Hello", **data})


def _sent_mails(stack: LocalRuntime, message_id: str) -> list[EmailMessage]:
    return sent_mails(stack).get(message_id, [])


def _message(admin: Api, message_id: str) -> dict[str, Any]:
    return ok(admin.get(f"/email/messages/{message_id}"))


def test_a_request_sends_one_mail_and_records_it(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    contact_id = new_id()
    key = f"requests/{tenant}/scanner/invoice.pdf"  # the requester copied its file there
    stack.client("s3").put_object(Bucket=_files_bucket(stack), Key=key, Body=b"%PDF-1.4 invoice")
    envelope = _request(
        tenant,
        contact_id=contact_id,
        to_name="Anna Asiakas",
        subject="Re: Your ticket",
        text="Thanks, fixed.",
        html="<p>Thanks, fixed.</p>",
        in_reply_to="<ticket-1@customer.example>",
        references=["<ticket-0@customer.example>"],
        reply_to=["support@acme.example"],
        attachments=[
            {
                "bucket": _files_bucket(stack),
                "key": key,
                "name": "invoice.pdf",
                "content_type": "application/pdf",
                "size": 16,
            }
        ],
    )
    message_id = derived_id("scanner", envelope["data"]["request_id"])
    put_envelope(stack, envelope)
    settle(stack, lambda: envelopes(stack, tenant, "email.sent"))
    # Delivered again once it was sent. (Duplicates while a sender holds the mail are put back on the
    # queue until its claim settles: a retry minutes later, which this module's no_failed_deliveries
    # would count; now that two senders run side by side locally, as Lambda's pollers do.)
    put_envelope(stack, envelope)  # delivered twice: still one mail
    put_envelope(stack, {**envelope, "id": new_id()})  # the same request sent again as a new event: still one
    sent = settle(stack, lambda: envelopes(stack, tenant, "email.sent"))
    assert [e["data"]["message_id"] for e in sent] == [message_id]
    assert sent[0]["data"]["contact_id"] == contact_id and sent[0]["data"]["to"] == "anna@example.com"

    mails = _sent_mails(stack, message_id)
    assert len(mails) == 1
    mail = mails[0]
    assert mail["From"] == f"no-reply@{DOMAIN}"  # no From chosen: the stack's sending domain
    assert mail["To"] == "Anna Asiakas <anna@example.com>"
    assert mail["Subject"] == "Re: Your ticket"
    assert mail["Reply-To"] == "support@acme.example"
    assert mail["In-Reply-To"] == "<ticket-1@customer.example>"
    assert mail["References"] == "<ticket-0@customer.example> <ticket-1@customer.example>"
    assert "List-Unsubscribe" not in mail  # no list type: a mail the recipient cannot refuse
    assert mail.get_body(("plain",)).get_content().strip() == "Thanks, fixed."  # type: ignore[union-attr]
    files = [(a.get_filename(), a.get_content()) for a in mail.iter_attachments()]
    assert files == [("invoice.pdf", b"%PDF-1.4 invoice")]

    message = _message(admin, message_id)
    assert message["status"] == "sent" and message["ses_message_id"] and message["sent_at"]
    assert message["message_id_header"] == f"<{message_id}@kontakt>"
    history = admin.get("/email/messages", params={"contact_id": contact_id})
    assert history.status_code == 200, history.text
    assert [(m["id"], m["status"]) for m in history.json()["items"]] == [(message_id, "sent")]
    # Another tenant sees none of it.
    other = admin.as_("t" + uuid.uuid4().hex[:16], "admin-2")
    assert_problem(other.get(f"/email/messages/{message_id}"), 404)
    assert other.get("/email/messages", params={"contact_id": contact_id}).json()["items"] == []


def test_suppressed_opted_out_and_oversized_are_not_sent(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    contact_id = new_id()
    put_record(stack, tenant, "suppression", derived_id("gone@example.com"), {"address": "gone@example.com"})
    put_record(stack, tenant, "optout", derived_id("anna@example.com", "news"), {"address": "anna@example.com"})
    cases = {
        "suppressed": _request(tenant, to=" Gone@Example.com", contact_id=contact_id, text="x"),
        "opted_out": _request(tenant, list_type_id="news", contact_id=contact_id, text="x"),
        "failed": _request(
            tenant,
            contact_id=contact_id,
            text="x",
            attachments=[{"bucket": BUCKET, "key": "big", "name": "big.bin", "size": 25 * 1024 * 1024 + 1}],
        ),
    }
    elsewhere = {  # in the requester's bucket, or another tenant's place in the files bucket: never read
        "bucket": _files_bucket(stack),
        "key": "requests/another-tenant/x.pdf",
        "name": "x.pdf",
        "size": 5,
    }
    stack.client("s3").put_object(Bucket=BUCKET, Key="x.pdf", Body=b"%PDF-")
    foreign = [{**elsewhere, "bucket": BUCKET, "key": "x.pdf"}, elsewhere]
    cases["not_held"] = _request(tenant, contact_id=contact_id, text="x", attachments=foreign)
    ids = {status: derived_id("scanner", e["data"]["request_id"]) for status, e in cases.items()}
    for envelope in cases.values():
        put_envelope(stack, envelope)

    def recorded() -> dict[str, dict[str, Any]] | None:
        items = admin.get("/email/messages", params={"contact_id": contact_id}).json()["items"]
        return {m["id"]: m for m in items} if len(items) == len(cases) else None

    found = settle(stack, recorded)
    assert found is not None
    for case, message_id in ids.items():
        status = "failed" if case == "not_held" else case
        assert found[message_id]["status"] == status and found[message_id]["error"], found[message_id]
        assert _sent_mails(stack, message_id) == []
    assert "25 MB" in found[ids["failed"]]["error"]
    assert f"{_files_bucket(stack)}/requests/{tenant}/" in found[ids["not_held"]]["error"]
    assert found[ids["not_held"]]["error"].endswith(": x.pdf, x.pdf.")
    assert envelopes(stack, tenant, "email.sent") == []


def test_bad_parameters_are_refused(admin: Api) -> None:
    assert_problem(admin.get("/email/messages", params={"status": "lost"}), 422, "query.status")
    assert_problem(admin.get("/email/messages", params={"contact_id": "a b"}), 422, "query.contact_id")
    assert_problem(admin.get(f"/email/messages/{new_id()}"), 404)


def test_a_template_is_rendered_with_the_request_data(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    created = admin.post(
        "/email/templates",
        json={
            "name": "Invoice",
            "subject": "Invoice {{ record.number }}",
            "html": "<p>Dear {{ contact.first_name }}, {{ record.note }}</p>",
            "text": "Hyvä {{ contact.first_name }}, lasku {{ record.number }}",
        },
    )
    assert created.status_code == 201, created.text
    envelope = _request(
        tenant,
        subject=None,
        to_name="Anna",
        template_id=created.json()["id"],
        data={"number": "INV-7", "note": "<b>due</b>"},
    )
    unknown = _request(tenant, subject=None, template_id=new_id())
    put_envelope(stack, envelope)
    put_envelope(stack, unknown)
    message_id = derived_id("scanner", envelope["data"]["request_id"])
    sent = settle(stack, lambda: envelopes(stack, tenant, "email.sent"))
    assert [e["data"]["message_id"] for e in sent] == [message_id]
    (mail,) = _sent_mails(stack, message_id)
    assert mail["Subject"] == "Invoice INV-7"
    assert mail.get_body(("html",)).get_content().strip() == "<p>Dear Anna, &lt;b&gt;due&lt;/b&gt;</p>"  # type: ignore[union-attr]
    assert mail.get_body(("plain",)).get_content().strip() == "Hyvä Anna, lasku INV-7"  # type: ignore[union-attr]
    failed = _message(admin, derived_id("scanner", unknown["data"]["request_id"]))
    assert failed["status"] == "failed" and "template" in failed["error"].lower(), failed


def test_a_list_mail_carries_one_click_unsubscribe(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    envelope = _request(tenant, to="bert@example.com", list_type_id="news", text="News")
    message_id = derived_id("scanner", envelope["data"]["request_id"])
    put_envelope(stack, envelope)
    settle(stack, lambda: envelopes(stack, tenant, "email.sent"))
    (mail,) = _sent_mails(stack, message_id)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # No UnsubscribeMailbox configured (the template's default): the HTTPS one-click link alone.
    assert mail["List-Unsubscribe"].startswith("<http") and mail["List-Unsubscribe"].endswith(">")
    assert "/u/" in mail["List-Unsubscribe"]
    assert "mailto:" not in mail["List-Unsubscribe"] and "," not in mail["List-Unsubscribe"]
    [raw] = raw_sent(stack, message_id)  # the bytes SES got, as a mailbox provider reads them
    [link] = assert_one_click_on_the_wire(raw)
    assert link.startswith(f"{stack.api_url}/u/")


def test_the_tenant_sender_setting_is_used_and_an_unverified_one_fails(stack: LocalRuntime, admin: Api) -> None:
    verified, unverified = new_tenant(), new_tenant()
    for tenant, address in ((verified, f"sales@{DOMAIN}"), (unverified, "sales@unverified.example")):
        put_record(
            stack, tenant, "setting", "email", {"from_address": address, "from_name": "Acme Sales", "reply_to": []}
        )
    good, bad = _request(verified, text="x"), _request(unverified, text="x")
    put_envelope(stack, good)
    put_envelope(stack, bad)
    settle(stack, lambda: envelopes(stack, verified, "email.sent"))
    (mail,) = _sent_mails(stack, derived_id("scanner", good["data"]["request_id"]))
    assert mail["From"] == f"Acme Sales <sales@{DOMAIN}>"
    bad_id = derived_id("scanner", bad["data"]["request_id"])
    found = settle(stack, lambda: _message(admin.as_(unverified, "admin-1"), bad_id)["status"] == "failed")
    assert found, _message(admin.as_(unverified, "admin-1"), bad_id)
    assert "SES refused" in _message(admin.as_(unverified, "admin-1"), bad_id)["error"]
    assert _sent_mails(stack, bad_id) == [] and envelopes(stack, unverified, "email.sent") == []


def test_a_from_address_must_be_on_a_verified_identity(admin: Api) -> None:
    """The template's sending domain is an SES identity; any other From is refused when set."""
    tenant_admin = admin.as_(new_tenant(), "admin-1")
    refused = tenant_admin.put("/email/settings", json={"from_address": "sales@unverified.example"})
    assert_problem(refused, 422, "from_address")
    assert tenant_admin.get("/email/settings").json()["from_address"] != "sales@unverified.example"
    accepted = tenant_admin.put("/email/settings", json={"from_address": f"sales@{DOMAIN}", "reply_to": ["a@b.fi"]})
    assert accepted.status_code == 200, accepted.text
    assert tenant_admin.get("/email/settings").json()["from_address"] == f"sales@{DOMAIN}"


def test_a_request_its_contract_refuses_fails_alone(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    """A subject or recipient's name with a line break, or longer than the API takes, fails that one
    mail with the reason (it stayed queued, unbuildable); a request naming no request id is dropped.
    None of them is retried to the dead-letter queue, and the good request beside them goes."""
    bad = [
        ("subject", _request(tenant, subject="Hi\r\nBcc: all@evil.example")),
        ("to_name", _request(tenant, to_name="Anna\nAsiakas")),
        ("to_name", _request(tenant, to_name="A" * 202)),
        ("subject", _request(tenant, subject="S" * 501)),
    ]
    nameless = _request(tenant)
    del nameless["data"]["request_id"]
    good = _request(tenant, to_name="A" * 201, subject="S" * 500, text="Fine.")
    for envelope in [*(e for _, e in bad), nameless, good]:
        put_envelope(stack, envelope)
    good_id = derived_id("scanner", good["data"]["request_id"])
    assert settle(stack, lambda: _sent_mails(stack, good_id))
    for field, envelope in bad:
        message_id = derived_id("scanner", envelope["data"]["request_id"])
        message = settle(stack, lambda m=message_id: (r := admin.get(f"/email/messages/{m}")).ok and r.json())
        assert message and message["status"] == "failed", (field, message)
        assert message["error"].startswith(f"The send request is not valid: {field}: "), message
        assert not _sent_mails(stack, message_id)
    sqs = stack.client("sqs")
    dlq = sqs.get_queue_url(QueueName="kontakt-dev-email-events-dlq")["QueueUrl"]
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    event_ids = {e["id"] for e in [*(e for _, e in bad), nameless]}
    assert not [m for m in dead if any(i in m["Body"] for i in event_ids)]
