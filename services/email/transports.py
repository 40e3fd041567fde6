"""How a built mail leaves: SES v2 (default) or the tenant's own SMTP server (tenant setting "email").

A transport's `send(raw, from_addr, to_addrs, tags=...)` returns the provider's message id. It raises
`Refused` when the provider refuses for good (the sender marks the mail failed) and lets anything
temporary raise as it is (the send queue retries).

SES sends through the stack's configuration set (CONFIGURATION_SET), whose EventBridge destination
reports each mail's Send, Delivery, Bounce, Complaint ... on the default bus; the mail's tags (e.g.
{"tenant": ..., "message": ...}) come back in every report as `mail.tags` (domain/feedback.py).

SMTP goes only where the outbound guard (shared/outbound.py) allows: the server's name is resolved
and checked once, at save (a refused host or port is a 422) and again at each connect, and the
client connects to the address that was checked while TLS verifies the certificate against the
name. The server's password lives in the tenant's Secrets Manager secret (`kontakt/<stage>/smtp/
<tenant>`), written by the API when an admin sets it and read by the sender, by the version the
setting names, when it logs in. A change of the setting is an `email_settings.updated` event
(a new password shows as `[secret]`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any, Protocol

from botocore.exceptions import ClientError

from services.email.domain.messages import SENDER_SETTING
from services.email.domain.transports import (
    EmailSettingsIn,
    EmailSettingsOut,
    Security,
    SmtpServer,
    TransportKind,
    merged,
    shown,
)
from services.email.events import EmailSettingsChanged
from services.email.service import Caller
from services.email.settings import EmailSettings, default_from_address
from shared import outbound
from shared.errors import ValidationFailed
from shared.events import changes_of
from shared.settings import FunctionSettings, load
from shared.store import UnitOfWork

# SES answers that no retry can change (an unverified From identity, a malformed mail).
SES_REFUSED = frozenset({"MessageRejected", "MailFromDomainNotVerifiedException", "BadRequestException"})
SMTP_TIMEOUT = 20.0  # seconds per connect/command: well inside the sender's 60 s
SMTP_PORTS = frozenset({25, 465, 587, 2525})  # a tenant's server listens on these (an allow-listed one: any)
PASSWORD_MAX_AGE = 300.0  # seconds the sender keeps a password it read


class Refused(Exception):
    """The provider refused the mail for good: no retry will send it."""


class Transport(Protocol):
    name: str

    def send(
        self, raw: bytes, from_addr: str, to_addrs: list[str], *, tags: Mapping[str, str] | None = None
    ) -> str: ...


@cache
def _ses() -> Any:
    import boto3  # here: a function that sends no mail (feedback) does not load boto3 (~15-20 ms of a cold start)

    return boto3.client("sesv2")


def verified_for_sending(address: str) -> bool:
    """Whether the address, or its domain, is an SES identity verified for sending."""
    for identity in (address, address.rpartition("@")[2]):
        try:
            found = _ses().get_email_identity(EmailIdentity=identity)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NotFoundException", "404"):
                continue
            raise
        if found.get("VerifiedForSendingStatus") or found.get("VerificationStatus") == "SUCCESS":
            return True  # moto reports only the second
    return False


def ses_request(
    raw: bytes, from_addr: str, to_addrs: list[str], configuration_set: str, tags: Mapping[str, str] | None
) -> dict[str, Any]:
    """SES v2 SendEmail arguments: the configuration set (its event destination) and the mail's tags."""
    request: dict[str, Any] = {
        "FromEmailAddress": from_addr,
        "Destination": {"ToAddresses": to_addrs},
        "Content": {"Raw": {"Data": raw}},
    }
    if configuration_set:
        request["ConfigurationSetName"] = configuration_set
    if tags:
        request["EmailTags"] = [{"Name": name, "Value": value} for name, value in tags.items() if value]
    return request


class SesTransport:
    name = "ses"

    def __init__(self, configuration_set: str | None = None) -> None:
        self.configuration_set = configuration_set

    def send(self, raw: bytes, from_addr: str, to_addrs: list[str], *, tags: Mapping[str, str] | None = None) -> str:
        """`tags`: names and values of letters, digits, `_` and `-` only (SES refuses others)."""
        configuration_set = (
            self.configuration_set if self.configuration_set is not None else load(EmailSettings).configuration_set
        )
        try:
            response = _ses().send_email(**ses_request(raw, from_addr, to_addrs, configuration_set, tags))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in SES_REFUSED:
                raise Refused(f"SES refused the mail: {code}") from exc
            raise  # throttling, a paused account ...: the queue retries
        return str(response["MessageId"])


class SmtpTransport:
    name = "smtp"

    def __init__(self, server: SmtpServer, timeout: float = SMTP_TIMEOUT) -> None:
        self.server = server
        self.timeout = timeout

    def send(self, raw: bytes, from_addr: str, to_addrs: list[str], *, tags: Mapping[str, str] | None = None) -> str:
        """`tags` are SES's: an SMTP server has no use for them."""
        try:
            with self._connect() as client:
                return _deliver(client, _crlf(raw), from_addr, to_addrs)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                first = next(iter(exc.recipients.values()))
                raise Refused(f"SMTP server refused the recipient: {_reply(*first)}") from exc
            raise
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, login failed ...
            if exc.smtp_code >= 500:
                raise Refused(f"SMTP server refused the mail: {_reply(exc.smtp_code, exc.smtp_error)}") from exc
            raise  # 4xx: try again later
        except (smtplib.SMTPNotSupportedError, ssl.SSLCertVerificationError) as exc:
            raise Refused(f"SMTP server cannot be used as set: {exc}") from exc
        # connection refused, timeouts, disconnects (OSError, SMTPServerDisconnected) raise: the queue retries

    def _connect(self) -> smtplib.SMTP:
        server, context = self.server, ssl.create_default_context()
        try:
            where = outbound.destination(server.host, server.port, ports=SMTP_PORTS)
        except outbound.OutboundRefused as exc:
            raise Refused(f"SMTP server cannot be used as set: {exc}") from exc
        except outbound.Unresolved as exc:  # nothing went: the queue retries
            raise smtplib.SMTPConnectError(421, str(exc)) from exc
        client: smtplib.SMTP
        if server.security == Security.tls:
            client = PinnedSMTP_SSL(where, timeout=self.timeout, context=context)
        else:
            client = PinnedSMTP(where, timeout=self.timeout)
        try:
            client.ehlo()
            if server.security == Security.starttls:
                client.starttls(context=context)
                client.ehlo()
            if server.username:
                client.login(server.username, _password(server))
        except BaseException:
            client.close()
            raise
        return client


class PinnedSMTP(smtplib.SMTP):
    """An SMTP client that connects to the checked address; the name stays for EHLO's peer and STARTTLS."""

    def __init__(self, where: outbound.Destination, timeout: float) -> None:
        self._address = where.address
        super().__init__(where.host, where.port, local_hostname=_ehlo_name(), timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return super()._get_socket(self._address, port, timeout)  # type: ignore[misc, no-any-return]


class PinnedSMTP_SSL(smtplib.SMTP_SSL):
    """Implicit TLS to the checked address; the certificate is verified against the name (SNI too)."""

    def __init__(self, where: outbound.Destination, timeout: float, context: ssl.SSLContext) -> None:
        self._address = where.address
        super().__init__(where.host, where.port, local_hostname=_ehlo_name(), timeout=timeout, context=context)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return super()._get_socket(self._address, port, timeout)  # type: ignore[misc, no-any-return]


def _ehlo_name() -> str:
    """EHLO names the stack's sending domain (smtplib's default would look up this machine's name)."""
    return os.environ.get("SENDING_DOMAIN") or "localhost"


# ----------------------------------------------------------------------------- the SMTP password


@cache
def _secrets() -> Any:
    import boto3  # here: a function that sends no mail (feedback) does not load boto3 (~15-20 ms of a cold start)

    return boto3.client("secretsmanager")


_passwords: dict[tuple[str, str], tuple[float, str]] = {}


class _Redacted(logging.Filter):
    """botocore logs each request's and response's body at DEBUG (a function whose log level an operator
    turns to DEBUG would print them): a password this process handles never reaches a log line."""

    def __init__(self) -> None:
        super().__init__()
        self.values: set[str] = set()

    def add(self, value: str) -> None:
        self.values.update({value, json.dumps(value)[1:-1]})

    def filter(self, record: logging.LogRecord) -> bool:
        if self.values:
            text = record.getMessage()
            hidden = text
            for value in self.values:
                hidden = hidden.replace(value, "***")
            if hidden != text:
                record.msg, record.args = hidden, None
        return True


_redacted = _Redacted()
for _wire in ("botocore.endpoint", "botocore.parsers", "botocore.hooks"):
    logging.getLogger(_wire).addFilter(_redacted)


def password_secret_name(tenant: str) -> str:
    """The tenant's secret; IAM lets only the email API write and only the sender read `kontakt/<stage>/smtp/*`."""
    return f"kontakt/{load(FunctionSettings).stage}/smtp/{tenant}"


def store_password(name: str, password: str) -> str:
    """Write the password into the secret (created on first use); the version that holds it."""
    _redacted.add(password)
    try:
        return str(_secrets().put_secret_value(SecretId=name, SecretString=password)["VersionId"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    description = "A Kontakt tenant's SMTP password (written by the email API, read by the sender)"
    return str(_secrets().create_secret(Name=name, SecretString=password, Description=description)["VersionId"])


@contextmanager
def _hidden_responses() -> Iterator[None]:
    """The response's body is logged before anyone knows the password it holds: no wire log meanwhile."""
    wire = logging.getLogger("botocore.parsers")
    level = wire.level
    wire.setLevel(max(level, logging.INFO))
    try:
        yield
    finally:
        wire.setLevel(level)


def remove_password(name: str) -> None:
    try:
        _secrets().delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise


def _password(server: SmtpServer) -> str:
    """The server's password: the secret's version the setting names, read at most every PASSWORD_MAX_AGE."""
    if not server.password_secret:
        return server.password or ""  # a record saved before the move (the next save moves it)
    key = (server.password_secret, server.password_version or "")
    now = time.monotonic()
    cached = _passwords.get(key)
    if cached and now - cached[0] < PASSWORD_MAX_AGE:
        return cached[1]
    request = {"SecretId": key[0], **({"VersionId": key[1]} if key[1] else {})}
    client = _secrets()
    with _hidden_responses():
        value = str(client.get_secret_value(**request)["SecretString"])
    _redacted.add(value)
    _passwords[key] = (now, value)
    return value


def _deliver(client: smtplib.SMTP, raw: bytes, from_addr: str, to_addrs: list[str]) -> str:
    """MAIL, RCPT, DATA one by one, so the server's final reply (often "queued as ...") is the id."""
    code, reply = client.mail(from_addr)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, reply, from_addr)
    for address in to_addrs:
        code, reply = client.rcpt(address)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({address: (code, reply)})
    code, reply = client.data(raw)
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)
    return _reply(code, reply)


def _crlf(raw: bytes) -> bytes:
    """smtplib sends bytes as they are: SMTP wants CRLF line ends."""
    return re.sub(rb"\r?\n", b"\r\n", raw)


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return f"{code} {text}".strip()


def transport_for(setting: dict[str, Any]) -> Transport:
    """The tenant's transport from its "email" setting (SES unless it chose its own server)."""
    if setting.get("transport") == TransportKind.smtp and setting.get("smtp"):
        return SmtpTransport(SmtpServer.model_validate(setting["smtp"]))
    return SesTransport()


# ----------------------------------------------------------------------------- the setting (admins only)


def get_settings(caller: Caller) -> EmailSettingsOut:
    caller.require_admin()
    return shown(caller.setting(SENDER_SETTING))


def change_settings(caller: Caller, change: EmailSettingsIn) -> EmailSettingsOut:
    """Replace the setting; the SMTP server must be one the outbound guard lets the sender reach, its
    password goes to the tenant's secret (write-only through the API, never in the setting record)."""
    caller.require_admin()
    if change.from_address is None:  # the stack's default, stored as it is now
        change = change.model_copy(update={"from_address": default_from_address()})
    if change.transport == TransportKind.ses and not verified_for_sending(str(change.from_address)):
        raise ValidationFailed.on(
            "from_address",
            "SES may not send from this address: verify its domain (or the address) as an SES identity first.",
            "unverified_identity",
        )
    if change.smtp is not None:
        _check_server(change.smtp.host, change.smtp.port)
    stored = caller.setting(SENDER_SETTING)
    value = merged(change, stored)
    smtp = value.get("smtp")
    if smtp and smtp.get("password"):
        name = password_secret_name(caller.tenant)
        smtp.update(password_secret=name, password_version=store_password(name, smtp.pop("password")))
    elif smtp:
        smtp.pop("password", None)
    _save(caller, stored, value)
    old_secret = (stored.get("smtp") or {}).get("password_secret")
    if old_secret and not (smtp and smtp.get("password_secret")):
        remove_password(old_secret)
    return shown(value)


def _save(caller: Caller, stored: dict[str, Any], value: dict[str, Any]) -> None:
    """Store the setting with its `email_settings.updated` event (none when nothing changed); a
    new SMTP password shows in the event's changes as `[secret]` only."""
    changes = changes_of(_audited(stored), _audited(value), secret=("smtp.password",))
    uow = UnitOfWork()
    caller.stage_setting(uow, SENDER_SETTING, value, published=True)  # email_settings.updated
    if changes:
        smtp = value.get("smtp") or {}
        payload = EmailSettingsChanged(
            from_address=value["from_address"],
            transport=value["transport"],
            smtp_host=smtp.get("host") if value["transport"] == TransportKind.smtp else None,
        )
        uow.publish(caller.event("email_settings.updated", payload, changes=changes))
    uow.commit()


def _audited(value: dict[str, Any]) -> dict[str, Any]:
    """The setting's fields as its event's changes name them: the server's flattened (`smtp.host`
    ...), its password as the secret version that holds it (a new password is a new version)."""
    smtp = value.get("smtp") or {}
    fields = {name: value.get(name) for name in ("from_address", "from_name", "reply_to", "transport")}
    fields.update({f"smtp.{name}": smtp.get(name) for name in ("host", "port", "security", "username")})
    fields["smtp.password"] = smtp.get("password_version") or smtp.get("password_secret") or smtp.get("password")
    return fields


def _check_server(host: str, port: int) -> None:
    """A 422 naming smtp.host or smtp.port when the guard refuses them; a name that does not resolve
    now is kept (its DNS may come later): the sender checks again at each connect."""
    try:
        outbound.destination(host, port, ports=SMTP_PORTS)
    except outbound.OutboundRefused as exc:
        raise ValidationFailed.on(f"smtp.{exc.part}", str(exc), "outbound_refused") from exc
    except outbound.Unresolved:
        pass
