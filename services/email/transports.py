"""How a built mail leaves: SES v2 (default) or the tenant's own SMTP server (tenant setting "email").

A transport's `send(raw, from_addr, to_addrs, tags=...)` returns the provider's message id. It raises
`Refused` when the provider refuses for good (the sender marks the mail failed) and lets anything
temporary raise as it is (the send queue retries).

SES sends through the stack's configuration set (CONFIGURATION_SET), whose EventBridge destination
reports each mail's Send, Delivery, Bounce, Complaint ... on the default bus; the mail's tags (e.g.
{"tenant": ..., "message": ...}) come back in every report as `mail.tags` (domain/feedback.py).
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Mapping
from functools import cache
from typing import Any, Protocol

import boto3
from botocore.exceptions import ClientError

from services.email.domain.transports import (
    EmailSettingsIn,
    EmailSettingsOut,
    Security,
    SmtpServer,
    TransportKind,
    merged,
    shown,
)
from services.email.service import Caller
from services.email.settings import EmailSettings, default_from_address
from services.email.transactional import SENDER_SETTING
from shared.errors import ValidationFailed
from shared.settings import load

# SES answers that no retry can change (an unverified From identity, a malformed mail).
SES_REFUSED = frozenset({"MessageRejected", "MailFromDomainNotVerifiedException", "BadRequestException"})
SMTP_TIMEOUT = 20.0  # seconds per connect/command: well inside the sender's 60 s


class Refused(Exception):
    """The provider refused the mail for good: no retry will send it."""


class Transport(Protocol):
    name: str

    def send(
        self, raw: bytes, from_addr: str, to_addrs: list[str], *, tags: Mapping[str, str] | None = None
    ) -> str: ...


@cache
def _ses() -> Any:
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
        client: smtplib.SMTP
        if server.security == Security.tls:
            client = smtplib.SMTP_SSL(server.host, server.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=self.timeout)
        try:
            client.ehlo()
            if server.security == Security.starttls:
                client.starttls(context=context)
                client.ehlo()
            if server.username:
                client.login(server.username, server.password or "")
        except BaseException:
            client.close()
            raise
        return client


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
    """Replace the setting; the SMTP password stays in the setting record, write-only through the API."""
    caller.require_admin()
    if change.from_address is None:  # the stack's default, stored as it is now
        change = change.model_copy(update={"from_address": default_from_address()})
    if change.transport == TransportKind.ses and not verified_for_sending(str(change.from_address)):
        raise ValidationFailed.on(
            "from_address",
            "SES may not send from this address: verify its domain (or the address) as an SES identity first.",
            "unverified_identity",
        )
    value = merged(change, caller.setting(SENDER_SETTING))
    caller.save_setting(SENDER_SETTING, value)
    return shown(value)
