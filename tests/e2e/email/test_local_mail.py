"""SES in `kontakt dev` [issue 5 "Transport", "Feedback"]: a mail the sender hands to SES goes
through the stack's configuration set, whose EventBridge destination reports it (Send, then
Delivery, or the mailbox simulator's Bounce/Complaint) to the feedback queue by itself; and the
developer finds the mail in the runtime's mail folder and on /dev/mail."""

from __future__ import annotations

from email import message_from_bytes
from typing import Any

import pytest

from infra.runtime import LocalRuntime
from shared.ids import derived_id
from tests.e2e.conftest import Api
from tests.e2e.email.helpers import request_mail, stored_message
from tests.e2e.helpers import envelopes, new_tenant, settle, stored_data, table_name
from tests.mail_wire import assert_one_click_on_the_wire

DRAIN_SECONDS = 120  # what a drain may take: room for cold starts on a busy machine


@pytest.fixture
def runtime(stack: LocalRuntime) -> LocalRuntime:
    """The worker's shared runtime, which keeps a mail folder (tests/e2e/conftest.py)."""
    return stack


@pytest.fixture
def tenant() -> str:
    return new_tenant()


@pytest.fixture
def admin(runtime: LocalRuntime, tenant: str) -> Api:
    return Api(runtime, runtime.token(tenant, "admin-1", "admin"))


def _request(runtime: LocalRuntime, tenant: str, to: str, subject: str, **data: Any) -> str:
    """email.send_requested on the bus, as another service asks for a mail; the message id."""
    return request_mail(runtime, tenant, to=to, subject=subject, **data)


def _message(runtime: LocalRuntime, tenant: str, message_id: str) -> dict[str, Any]:
    """The message record's fields (status, delivery, delivered_at ...) in this runtime's table."""
    return stored_message(runtime, tenant, message_id, table_name(runtime, "EmailTable"))


def test_a_sent_mail_is_delivered_by_itself_and_in_the_mail_folder(
    runtime: LocalRuntime, admin: Api, tenant: str
) -> None:
    message_id = _request(runtime, tenant, "Anna@Example.com", "Your invoice", list_type_id="service-notices")
    message = settle(
        runtime, lambda: (m := _message(runtime, tenant, message_id)).get("delivery") and m, timeout=DRAIN_SECONDS
    )
    assert message["status"] == "sent" and message["delivery"] == "delivered"
    assert admin.get(f"/email/messages/{message_id}").json()["status"] == "sent"
    [delivered] = settle(runtime, lambda: envelopes(runtime, tenant, "email.delivered"), timeout=DRAIN_SECONDS)
    assert delivered["data"]["message_id"] == message_id and delivered["data"]["to"] == "anna@example.com"

    header = f"<{message_id}@kontakt>"
    assert runtime.mail_dir is not None
    files = [p for p in runtime.mail_dir.glob("*.eml") if message_from_bytes(p.read_bytes())["Message-ID"] == header]
    assert len(files) == 1
    mail = message_from_bytes(files[0].read_bytes())
    assert (mail["To"], mail["Subject"]) == ("anna@example.com", "Your invoice")
    [link] = assert_one_click_on_the_wire(files[0].read_bytes())  # the file's bytes, as a mail client reads them
    assert link.startswith(f"{runtime.api_url}/u/")

    listed = Api(runtime).get("/dev/mail?format=json").json()
    [entry] = [m for m in listed if m["message_id"] == header]
    assert entry["file"] == files[0].name and entry["subject"] == "Your invoice"
    source = Api(runtime).get(f"/dev/mail/{entry['file']}")
    assert source.status_code == 200 and header in source.text


def test_the_mailbox_simulator_bounces_and_complains(runtime: LocalRuntime, tenant: str) -> None:
    bounced = _request(runtime, tenant, "bounce@simulator.amazonses.com", "Hello")
    complained = _request(runtime, tenant, "complaint@simulator.amazonses.com", "Hello")
    [bounce] = settle(runtime, lambda: envelopes(runtime, tenant, "email.bounced"), timeout=DRAIN_SECONDS)
    assert bounce["data"]["message_id"] == bounced
    assert (bounce["data"]["bounce_type"], bounce["data"]["suppressed"]) == ("hard", True)
    [complaint] = settle(runtime, lambda: envelopes(runtime, tenant, "email.complained"), timeout=DRAIN_SECONDS)
    assert complaint["data"]["message_id"] == complained
    assert _message(runtime, tenant, bounced)["delivery"] == "bounced"
    assert settle(
        runtime, lambda: _message(runtime, tenant, complained).get("delivery") == "complained", timeout=DRAIN_SECONDS
    )
    table = table_name(runtime, "EmailTable")
    for address, reason in (
        ("bounce@simulator.amazonses.com", "hard_bounce"),
        ("complaint@simulator.amazonses.com", "complaint"),
    ):
        suppression = stored_data(runtime, table, tenant, "suppression", derived_id(address))
        assert suppression.get("reason") == reason, (address, suppression)
    delivered = [e["data"]["message_id"] for e in envelopes(runtime, tenant, "email.delivered")]
    assert delivered == [complained]  # the complaint's mail was delivered first; the bounced one never
