"""A tenant's SMTP server goes through the outbound guard at save and at connect, and its password
lives in Secrets Manager, never in the setting record, a response or a log line.

No DNS and no network: names are answered by a resolver the test installs, sockets are disabled,
and the connection itself is a recorder that refuses, so even a broken guard connects nowhere.
"""

from __future__ import annotations

import io
import json
import logging
import smtplib
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from services.email import transports
from services.email.domain.transports import EmailSettingsIn, SmtpServer
from services.email.transports import Refused, SmtpTransport, change_settings, get_settings
from shared import outbound
from shared.errors import ValidationFailed
from shared.events import SECRET, Change, Envelope, new_event

pytestmark = pytest.mark.disable_socket

PUBLIC = "93.184.215.14"
DNS = {"mail.acme.example": [PUBLIC], "intranet.acme.example": ["10.0.0.25"], "meta.acme.example": [PUBLIC, "fd00::1"]}
PASSWORD = "s3cret-Pa55word!"


@pytest.fixture(autouse=True)
def no_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []

    def answer(host: str) -> list[str]:
        asked.append(host)
        if host not in DNS:
            raise outbound.Unresolved(f"{host} does not resolve")
        return DNS[host]

    monkeypatch.setattr(outbound, "resolve", answer)
    monkeypatch.delenv(outbound.ALLOW_ENV, raising=False)
    return asked


def _in_this_thread(monkeypatch: pytest.MonkeyPatch, stand_in: Any) -> None:
    """`socket.create_connection` (smtplib's) replaced for this test's thread only: a test worker
    may also run an e2e stack, whose pumps open their own connections from other threads."""
    real, mine = smtplib.socket.create_connection, threading.get_ident()

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() != mine:
            return real(address, *args, **kwargs)
        return stand_in(address, *args, **kwargs)

    monkeypatch.setattr(smtplib.socket, "create_connection", create_connection)


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Where smtplib opened connections: recorded, and refused."""
    opened: list[tuple[str, int]] = []

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        opened.append(address)
        raise ConnectionRefusedError(f"test: no connection to {address}")

    _in_this_thread(monkeypatch, create_connection)
    return opened


def _server(host: str, port: int = 587, **fields: Any) -> SmtpTransport:
    return SmtpTransport(SmtpServer.model_validate({"host": host, "port": port, **fields}), timeout=1)


@pytest.mark.parametrize(
    ("host", "port"),
    [
        ("169.254.169.254", 587),
        ("2852039166", 587),
        ("0xa9fea9fe", 25),
        ("169.254.43518", 465),
        ("127.0.0.1", 25),
        ("10.0.0.25", 587),
        ("100.64.1.1", 587),
        ("::ffff:169.254.169.254", 587),
        ("intranet.acme.example", 587),
        ("meta.acme.example", 587),  # one of its addresses is unique-local
        ("mail.acme.example", 6379),  # a public server, but not an SMTP port
    ],
)
def test_the_sender_never_connects_where_the_guard_refuses(
    connections: list[tuple[str, int]], host: str, port: int
) -> None:
    """A setting stored before the guard (or written around it) fails the mail for good, unconnected."""
    with pytest.raises(Refused) as refused:
        _server(host, port, security="none").send(b"x", "a@acme.example", ["b@example.com"])
    assert "cannot be used as set" in str(refused.value) and connections == []


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
def test_the_sender_connects_to_the_address_it_checked(
    monkeypatch: pytest.MonkeyPatch, connections: list[tuple[str, int]], no_dns: list[str], security: str
) -> None:
    """Resolved once: a second DNS answer (rebinding to loopback) is never asked for."""
    answers = iter([[PUBLIC], ["127.0.0.1"]])
    monkeypatch.setitem(DNS, "rebind.acme.example", [])
    monkeypatch.setattr(outbound, "resolve", lambda host: (no_dns.append(host), next(answers))[1])
    with pytest.raises(ConnectionRefusedError):
        _server("rebind.acme.example", 465 if security == "tls" else 587, security=security).send(
            b"x", "a@acme.example", ["b@example.com"]
        )
    assert connections == [(PUBLIC, 465 if security == "tls" else 587)] and no_dns == ["rebind.acme.example"]


def test_a_name_that_does_not_resolve_now_is_retried_later(connections: list[tuple[str, int]]) -> None:
    with pytest.raises(smtplib.SMTPConnectError) as caught:  # the sender releases the mail for a retry
        _server("gone.acme.example").send(b"x", "a@acme.example", ["b@example.com"])
    assert not isinstance(caught.value, Refused) and caught.value.smtp_code == 421 and connections == []


class FakeSocket:
    """A server that greets, offers STARTTLS and agrees to it; TLS itself is the fake context's."""

    def __init__(self) -> None:
        self.script = io.BytesIO(b"220 ready\r\n250-mail hello\r\n250 STARTTLS\r\n220 go ahead\r\n")
        self.sent: list[bytes] = []

    def makefile(self, mode: str) -> io.BytesIO:
        return self.script

    def sendall(self, data: bytes) -> None:
        self.sent.append(data)

    def close(self) -> None:
        pass


class FakeContext:
    def __init__(self) -> None:
        self.server_hostnames: list[str | None] = []

    def wrap_socket(self, sock: Any, server_hostname: str | None = None, **kwargs: Any) -> Any:
        self.server_hostnames.append(server_hostname)
        raise ssl.SSLCertVerificationError("certificate verify failed: Hostname mismatch")


@pytest.mark.parametrize(("security", "port"), [("tls", 465), ("starttls", 587)])
def test_tls_verifies_the_certificate_against_the_name_not_the_address(
    monkeypatch: pytest.MonkeyPatch, security: str, port: int
) -> None:
    opened: list[tuple[str, int]] = []
    context = FakeContext()
    _in_this_thread(monkeypatch, lambda address, *a, **k: (opened.append(address), FakeSocket())[1])
    monkeypatch.setattr(transports.ssl, "create_default_context", lambda: context)
    with pytest.raises(Refused):  # a certificate that does not match the name: the mail fails for good
        _server("mail.acme.example", port, security=security).send(b"x", "a@acme.example", ["b@example.com"])
    assert opened == [(PUBLIC, port)] and context.server_hostnames == ["mail.acme.example"]


# ----------------------------------------------------------------------------- the setting (PUT /email/settings)


class FakeCaller:
    """The setting in memory; the events its changes publish in `published` (a transaction of
    `FakeUnitOfWork`s, which commits nothing anywhere)."""

    tenant = "t-guard"

    def __init__(self) -> None:
        self.stored: dict[str, Any] = {}
        self.published: list[Envelope] = []

    def require_admin(self) -> None:
        pass

    def setting(self, name: str) -> dict[str, Any]:
        return self.stored

    def stage_setting(self, uow: FakeUnitOfWork, name: str, value: dict[str, Any], published: bool = False) -> None:
        uow.caller = self
        self.stored = json.loads(json.dumps(value))

    def event(self, event_type: str, payload: Any, changes: list[Change]) -> Envelope:
        return new_event(event_type, self.tenant, payload, changes=changes)


class FakeUnitOfWork:
    caller: FakeCaller

    def publish(self, event: Envelope) -> None:
        self.caller.published.append(event)

    def commit(self) -> None:
        pass


@pytest.fixture(autouse=True)
def no_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transports, "UnitOfWork", FakeUnitOfWork)


def _change(**smtp: Any) -> EmailSettingsIn:
    return EmailSettingsIn.model_validate(
        {"from_address": "sales@acme.example", "transport": "smtp", "smtp": {"security": "starttls", **smtp}}
    )


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> Any:
    """Everything logged while the test runs, at every level, extra fields included."""
    from shared.observability import logger

    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger=logger.name)

    def text() -> str:
        printed = capsys.readouterr()
        return printed.out + printed.err + "".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)

    return text


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-north-1")
    monkeypatch.setenv("STAGE", "unit")
    transports.load.cache_clear()
    transports._secrets.cache_clear()
    transports._passwords.clear()
    with mock_aws():
        yield boto3.client("secretsmanager")
    transports._secrets.cache_clear()
    transports.load.cache_clear()


@pytest.mark.parametrize(
    ("host", "port", "field"),
    [
        ("2852039166", 587, "smtp.host"),
        ("0xa9fea9fe", 587, "smtp.host"),
        ("169.254.43518", 587, "smtp.host"),
        ("0251.0376.0251.0376", 587, "smtp.host"),
        ("0", 25, "smtp.host"),
        ("127.0.0.1", 25, "smtp.host"),
        ("192.168.0.10", 587, "smtp.host"),
        ("100.100.100.200", 587, "smtp.host"),
        ("fd12:3456::1", 587, "smtp.host"),
        ("::ffff:10.0.0.1", 587, "smtp.host"),
        ("intranet.acme.example", 587, "smtp.host"),
        ("mail.acme.example", 22, "smtp.port"),
        ("mail.acme.example", 6379, "smtp.port"),
    ],
)
def test_a_refused_server_is_a_422_naming_the_field_and_nothing_is_stored(host: str, port: int, field: str) -> None:
    caller = FakeCaller()
    with pytest.raises(ValidationFailed) as refused:
        change_settings(caller, _change(host=host, port=port))  # type: ignore[arg-type]
    assert [e.field for e in refused.value.errors] == [field] and caller.stored == {}


def test_a_public_server_on_an_smtp_port_or_a_name_not_yet_in_dns_is_accepted(secrets: Any) -> None:
    caller = FakeCaller()
    for host, port in (("mail.acme.example", 587), ("8.8.8.8", 2525), ("new.acme.example", 465)):
        out = change_settings(caller, _change(host=host, port=port))  # type: ignore[arg-type]
        assert out.smtp is not None and (out.smtp.host, out.smtp.port) == (host, port)


def test_the_password_is_kept_in_secrets_manager_not_in_the_setting(secrets: Any, logged: Any) -> None:
    caller = FakeCaller()
    out = change_settings(caller, _change(host="mail.acme.example", username="u", password=PASSWORD))  # type: ignore[arg-type]
    assert out.smtp is not None and out.smtp.password_set
    assert PASSWORD not in json.dumps(caller.stored) and PASSWORD not in out.model_dump_json()
    assert PASSWORD not in get_settings(caller).model_dump_json()  # type: ignore[arg-type]
    name = "kontakt/unit/smtp/t-guard"
    assert caller.stored["smtp"]["password_secret"] == name
    assert secrets.get_secret_value(SecretId=name)["SecretString"] == PASSWORD

    # A change that leaves it out keeps it; a new one is a new version; null deletes the secret.
    change_settings(caller, _change(host="mail.acme.example", username="u", port=465, security="tls"))  # type: ignore[arg-type]
    assert caller.stored["smtp"]["password_secret"] == name and get_settings(caller).smtp.password_set  # type: ignore[arg-type, union-attr]
    first = caller.stored["smtp"]["password_version"]
    change_settings(caller, _change(host="mail.acme.example", username="u", password="another-one"))  # type: ignore[arg-type]
    assert caller.stored["smtp"]["password_version"] != first
    assert secrets.get_secret_value(SecretId=name)["SecretString"] == "another-one"
    change_settings(caller, _change(host="mail.acme.example", username="u", password=None))  # type: ignore[arg-type]
    assert "password_secret" not in caller.stored["smtp"] and not get_settings(caller).smtp.password_set  # type: ignore[arg-type, union-attr]
    with pytest.raises(secrets.exceptions.ResourceNotFoundException):
        secrets.get_secret_value(SecretId=name)
    assert PASSWORD not in logged()

    # Every change is an event; a password shows as "[secret]" only, in no event at all.
    assert [e.type for e in caller.published] == ["email_settings.updated"] * 4
    assert PASSWORD not in "".join(e.model_dump_json() for e in caller.published)
    changed = [{c.field: (c.old, c.new) for c in e.changes} for e in caller.published]
    assert changed[0]["smtp.password"] == (None, SECRET) and changed[0]["smtp.host"] == (None, "mail.acme.example")
    assert "smtp.password" not in changed[1] and changed[1]["smtp.port"] == (587, 465)
    assert changed[2]["smtp.password"] == (SECRET, SECRET) and changed[3]["smtp.password"] == (SECRET, None)
    change_settings(caller, _change(host="mail.acme.example", username="u"))  # type: ignore[arg-type]
    assert len(caller.published) == 4  # nothing changed: no event


def test_the_sender_logs_in_with_the_secret_version_the_setting_names(
    secrets: Any, monkeypatch: pytest.MonkeyPatch, logged: Any
) -> None:
    caller = FakeCaller()
    change_settings(caller, _change(host="mail.acme.example", username="u", password=PASSWORD))  # type: ignore[arg-type]
    stored = dict(caller.stored["smtp"])
    logins: list[tuple[str, str]] = []

    class Client:
        def __init__(self, where: outbound.Destination, timeout: float) -> None:
            pass

        def ehlo(self) -> None:
            pass

        def starttls(self, context: Any) -> None:
            pass

        def login(self, user: str, password: str) -> None:
            logins.append((user, password))
            raise smtplib.SMTPAuthenticationError(535, b"5.7.8 authentication failed")

        def close(self) -> None:
            pass

    monkeypatch.setattr(transports, "PinnedSMTP", Client)
    reads: list[dict[str, Any]] = []
    client = transports._secrets()
    read = client.get_secret_value
    monkeypatch.setattr(client, "get_secret_value", lambda **request: (reads.append(request), read(**request))[1])
    for _ in range(2):
        with pytest.raises(Refused) as refused:
            SmtpTransport(SmtpServer.model_validate(stored), timeout=1).send(b"x", "a@acme.example", ["b@example.com"])
        assert PASSWORD not in str(refused.value)
    assert logins == [("u", PASSWORD)] * 2
    assert reads == [{"SecretId": stored["password_secret"], "VersionId": stored["password_version"]}]  # cached

    change_settings(caller, _change(host="mail.acme.example", username="u", password="rotated"))  # type: ignore[arg-type]
    with pytest.raises(Refused):  # a new version: read at once, not after the cache's age
        SmtpTransport(SmtpServer.model_validate(caller.stored["smtp"]), timeout=1).send(
            b"x", "a@acme.example", ["b@x.example"]
        )
    assert logins[-1] == ("u", "rotated")
    assert PASSWORD not in logged()
