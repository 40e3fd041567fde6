"""The SMTP transport's conversation and how it reads the server's answers (a fake server: no network here)."""

from __future__ import annotations

import smtplib
from typing import Any

import pytest

from services.email import transports
from services.email.domain.transports import Security, SmtpServer
from services.email.transports import Refused, SmtpTransport
from shared import outbound

pytestmark = pytest.mark.disable_socket


class FakeClient:
    """Records the commands; `answers` maps a command to the (code, reply) the server gives."""

    def __init__(
        self, host: str, port: int, timeout: float, context: Any = None, answers: dict[str, Any] | None = None
    ):
        self.calls: list[tuple[str, Any]] = [("connect", (host, port, timeout, context is not None))]
        self.answers = answers or {}
        self.closed = False

    def _answer(self, command: str, default: tuple[int, bytes]) -> tuple[int, bytes]:
        answer = self.answers.get(command, default)
        if isinstance(answer, BaseException):
            raise answer
        return answer  # type: ignore[no-any-return]

    def ehlo(self) -> tuple[int, bytes]:
        self.calls.append(("ehlo", None))
        return (250, b"ok")

    def starttls(self, context: Any = None) -> tuple[int, bytes]:
        self.calls.append(("starttls", None))
        return self._answer("starttls", (220, b"go ahead"))

    def login(self, user: str, password: str) -> tuple[int, bytes]:
        self.calls.append(("login", (user, password)))
        code, reply = self._answer("login", (235, b"ok"))
        if code >= 400:
            raise smtplib.SMTPAuthenticationError(code, reply)
        return code, reply

    def mail(self, sender: str) -> tuple[int, bytes]:
        self.calls.append(("mail", sender))
        return self._answer("mail", (250, b"ok"))

    def rcpt(self, address: str) -> tuple[int, bytes]:
        self.calls.append(("rcpt", address))
        return self._answer("rcpt", (250, b"ok"))

    def data(self, raw: bytes) -> tuple[int, bytes]:
        self.calls.append(("data", raw))
        return self._answer("data", (250, b"2.0.0 Ok: queued as ABC"))

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> FakeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


MAIL_ADDRESS = "93.184.215.14"  # what the fake resolver answers for mail.acme.example


def _transport(monkeypatch: pytest.MonkeyPatch, answers: dict[str, Any] | None = None, **server: Any) -> Any:
    made: list[FakeClient] = []

    def plain(where: outbound.Destination, timeout: float) -> FakeClient:
        if "connect" in (answers or {}):
            raise (answers or {})["connect"]
        made.append(FakeClient(f"{where.host}@{where.address}", where.port, timeout, answers=answers))
        return made[-1]

    def implicit(where: outbound.Destination, timeout: float, context: Any) -> FakeClient:
        made.append(FakeClient(f"{where.host}@{where.address}", where.port, timeout, context, answers))
        return made[-1]

    monkeypatch.setattr(transports, "PinnedSMTP", plain)
    monkeypatch.setattr(transports, "PinnedSMTP_SSL", implicit)
    monkeypatch.setattr(outbound, "resolve", lambda host: {"mail.acme.example": [MAIL_ADDRESS]}[host])
    monkeypatch.delenv(outbound.ALLOW_ENV, raising=False)
    return SmtpTransport(SmtpServer.model_validate({"host": "mail.acme.example", **server}), timeout=5), made


def test_starttls_then_login_then_one_mail(monkeypatch: pytest.MonkeyPatch) -> None:
    transport, made = _transport(monkeypatch, username="u", password="p")
    assert transport.send(b"Subject: x\n\nbody\n", "a@acme.example", ["b@example.com"]) == "250 2.0.0 Ok: queued as ABC"
    (client,) = made
    assert [name for name, _ in client.calls] == [
        "connect",
        "ehlo",
        "starttls",
        "ehlo",
        "login",
        "mail",
        "rcpt",
        "data",
    ]
    assert client.calls[0][1] == (f"mail.acme.example@{MAIL_ADDRESS}", 587, 5, False) and client.calls[4][1] == (
        "u",
        "p",
    )
    assert client.calls[-1][1] == b"Subject: x\r\n\r\nbody\r\n" and client.closed


def test_implicit_tls_and_no_login_without_a_username(monkeypatch: pytest.MonkeyPatch) -> None:
    transport, made = _transport(monkeypatch, port=465, security=Security.tls)
    transport.send(b"x", "a@acme.example", ["b@example.com"])
    (client,) = made
    assert client.calls[0][1] == (f"mail.acme.example@{MAIL_ADDRESS}", 465, 5, True)
    assert [name for name, _ in client.calls] == ["connect", "ehlo", "mail", "rcpt", "data"]


@pytest.mark.parametrize(
    "answers",
    [
        {"rcpt": (550, b"no such user")},
        {"mail": (553, b"sender not allowed")},
        {"data": (554, b"spam")},
        {"login": (535, b"bad credentials")},
        {"starttls": smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server.")},
    ],
)
def test_a_permanent_refusal_is_refused(monkeypatch: pytest.MonkeyPatch, answers: dict[str, Any]) -> None:
    transport, made = _transport(monkeypatch, answers, username="u", password="p")
    with pytest.raises(Refused):
        transport.send(b"x", "a@acme.example", ["b@example.com"])
    assert all(client.closed for client in made)


@pytest.mark.parametrize(
    "answers",
    [
        {"rcpt": (450, b"mailbox busy")},
        {"mail": (421, b"try later")},
        {"data": (451, b"local error")},
        {"connect": ConnectionRefusedError()},
        {"connect": TimeoutError()},
        {"data": smtplib.SMTPServerDisconnected("gone")},
    ],
)
def test_a_temporary_failure_raises_for_a_retry(monkeypatch: pytest.MonkeyPatch, answers: dict[str, Any]) -> None:
    transport, _ = _transport(monkeypatch, answers, security=Security.none)
    with pytest.raises(Exception) as caught:
        transport.send(b"x", "a@acme.example", ["b@example.com"])
    assert not isinstance(caught.value, Refused)
