"""What a send request may ask of its mail's headers (shared/contracts/messaging.py): the Message-ID
a request makes is known to the requester beforehand (a ticket reply threads the answer by it), and
its own From is used only where the tenant may send from it, else it becomes the Reply-To."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.email import settings
from services.email.domain.messages import Mail, Sender, build_mime, message_id_header
from services.email.transactional import sender_of
from shared.contracts import messaging
from shared.contracts.messaging import EmailSendRequested

pytestmark = pytest.mark.disable_socket


@pytest.fixture(autouse=True)
def sending_domain(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    settings.load.cache_clear()
    monkeypatch.setenv("SENDING_DOMAIN", "mail.example.com")
    yield
    settings.load.cache_clear()


class _Caller:
    def __init__(self, setting: dict[str, Any]) -> None:
        self.value = setting

    def setting(self, name: str) -> dict[str, Any]:
        return self.value


def _request(from_address: str | None) -> EmailSendRequested:
    return EmailSendRequested(
        request_id="reply-1-0", requester="scanner", to="maija@example.fi", subject="Re: x", from_address=from_address
    )


def test_the_message_id_a_request_makes_is_the_one_the_mail_carries() -> None:
    mail_id = messaging.sent_message_id("scanner", "reply-1-0")
    mail = Mail(message_id=mail_id, to="maija@example.fi", subject="Re: x", text="hi")
    built = build_mime(mail, Sender(from_address="tuki@mail.example.com"))
    assert built["Message-ID"] == messaging.message_id_header("scanner", "reply-1-0") == message_id_header(mail_id)


@pytest.mark.parametrize(
    ("setting", "asked", "expected"),
    [
        (
            {"from_address": "no-reply@mail.example.com"},
            "Tuki@Mail.Example.com",
            {"from_address": "tuki@mail.example.com"},
        ),
        ({"from_address": "sales@acme.example"}, "tuki@acme.example", {"from_address": "tuki@acme.example"}),
        ({"from_address": "sales@acme.example"}, "tuki@other.example", {"reply_to": ["tuki@other.example"]}),
        (
            {"from_address": "sales@acme.example", "transport": "smtp"},
            "tuki@other.example",
            {"from_address": "tuki@other.example"},
        ),
        ({"from_address": "sales@acme.example"}, None, {}),
    ],
)
def test_a_requested_from_is_used_only_where_the_tenant_may_send_from_it(
    setting: dict[str, Any], asked: str | None, expected: dict[str, Any]
) -> None:
    found = sender_of(_Caller(setting), _request(asked))  # type: ignore[arg-type]
    assert {k: v for k, v in found.items() if k != "from_name"} == expected
