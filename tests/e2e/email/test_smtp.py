"""The SMTP transport [issue 5 "Sending"]: a tenant that uses its own mail server gets its mail
through that server. A real SMTP server (aiosmtpd) runs in the test on loopback; the sender
worker of the local stack, another process on this machine, connects to it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from infra.runtime import LocalRuntime
from shared.ids import derived_id
from tests.e2e.conftest import Api
from tests.e2e.email.helpers import send_requested
from tests.e2e.helpers import assert_problem, envelopes, new_tenant, put_envelope, settle


class Inbox:
    """What the server accepted; refuses recipients named in `refuse` with 550."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], EmailMessage]] = []
        self.refuse: set[str] = set()
        self.port = _free_port()

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        mail = message_from_bytes(content, policy=policy.default)
        self.mails.append((str(envelope.mail_from), list(envelope.rcpt_tos), mail))  # type: ignore[arg-type]
        return "250 2.0.0 Ok: queued as QUEUED123"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


def _use_smtp(admin: Api, port: int) -> None:
    body = {
        "from_address": "sales@own-server.example",  # no SES identity for it: SMTP does not need one
        "from_name": "Acme Sales",
        "transport": "smtp",
        "smtp": {"host": "127.0.0.1", "port": port, "security": "none"},
    }
    response = admin.put("/email/settings", json=body)
    assert response.status_code == 200, response.text


def _request(tenant: str, **data: Any) -> dict[str, Any]:
    return send_requested(tenant, **{"to": "Anna@Example.com", "subject": "Hello", **data})


def _message(admin: Api, message_id: str) -> dict[str, Any]:
    response = admin.get(f"/email/messages/{message_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_mail_goes_through_the_tenants_smtp_server(
    stack: LocalRuntime, admin: Api, tenant: str, inbox: Inbox
) -> None:
    _use_smtp(admin, inbox.port)
    envelope = _request(tenant, to_name="Anna Asiakas", text="Sent by our own server.", reply_to=["help@acme.example"])
    message_id = derived_id("scanner", envelope["data"]["request_id"])
    put_envelope(stack, envelope)
    put_envelope(stack, envelope)  # delivered twice: still one mail
    sent = settle(stack, lambda: envelopes(stack, tenant, "email.sent"))
    assert [e["data"]["message_id"] for e in sent] == [message_id]

    assert len(inbox.mails) == 1
    mail_from, rcpt_tos, mail = inbox.mails[0]
    assert mail_from == "sales@own-server.example" and rcpt_tos == ["anna@example.com"]
    assert mail["From"] == "Acme Sales <sales@own-server.example>"
    assert mail["To"] == "Anna Asiakas <anna@example.com>"
    assert mail["Subject"] == "Hello"
    assert mail["Reply-To"] == "help@acme.example"
    assert mail["Message-ID"] == f"<{message_id}@kontakt>"
    assert mail.get_body(("plain",)).get_content().strip() == "Sent by our own server."  # type: ignore[union-attr]

    message = _message(admin, message_id)
    assert message["status"] == "sent" and message["sent_at"]
    stack.drain()
    assert len(inbox.mails) == 1 and len(envelopes(stack, tenant, "email.sent")) == 1


def test_a_permanent_refusal_marks_the_mail_failed(stack: LocalRuntime, admin: Api, tenant: str, inbox: Inbox) -> None:
    _use_smtp(admin, inbox.port)
    inbox.refuse.add("nobody@example.com")
    envelope = _request(tenant, to="nobody@example.com", text="x")
    message_id = derived_id("scanner", envelope["data"]["request_id"])
    put_envelope(stack, envelope)
    failed = settle(stack, lambda: _message(admin, message_id)["status"] == "failed")
    assert failed, _message(admin, message_id)
    assert "550 no such user" in _message(admin, message_id)["error"]
    assert inbox.mails == [] and envelopes(stack, tenant, "email.sent") == []


def test_settings_are_for_admins_and_the_password_is_write_only(admin: Api, tenant: str) -> None:
    default = admin.get("/email/settings")
    assert default.status_code == 200, default.text
    assert default.json()["transport"] == "ses" and default.json()["smtp"] is None

    smtp: dict[str, Any] = {"host": "mail.acme.example", "port": 465, "security": "tls", "username": "u"}
    body: dict[str, Any] = {
        "from_address": "sales@acme.example",
        "transport": "smtp",
        "smtp": {**smtp, "password": "s3cret!"},
    }
    changed = admin.put("/email/settings", json=body)
    assert changed.status_code == 200, changed.text
    for response in (changed, admin.get("/email/settings")):
        assert "s3cret!" not in response.text
        assert response.json()["smtp"] == {
            "host": "mail.acme.example",
            "port": 465,
            "security": "tls",
            "username": "u",
            "password_set": True,
        }
    removed = admin.put("/email/settings", json={**body, "smtp": {**smtp, "password": None}})
    assert removed.json()["smtp"]["password_set"] is False  # an explicit null removes it
    readd = admin.put("/email/settings", json=body)
    assert readd.json()["smtp"]["password_set"] is True
    kept = admin.put("/email/settings", json={**body, "smtp": smtp})  # a change that leaves it out keeps it
    assert kept.json()["smtp"]["password_set"] is True

    # Bad input: 422 naming the field, nothing changed.
    assert_problem(admin.put("/email/settings", json={**body, "smtp": {**smtp, "port": 0}}), 422, "smtp.port")
    assert_problem(admin.put("/email/settings", json={"transport": "smtp"}), 422)
    assert_problem(admin.put("/email/settings", json={**body, "from_address": "nope"}), 422, "from_address")
    assert admin.get("/email/settings").json()["smtp"]["port"] == 465

    # Only admins; another tenant sees its own (default) settings.
    for role in ("manager", "user"):
        assert_problem(admin.as_(tenant, "someone", role).get("/email/settings"), 403)
        assert_problem(admin.as_(tenant, "someone", role).put("/email/settings", json=body), 403)
    other = admin.as_(new_tenant(), "admin-1")
    assert other.get("/email/settings").json()["transport"] == "ses"
