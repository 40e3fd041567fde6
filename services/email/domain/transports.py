"""The tenant's mail transport (part of tenant setting "email"): SES (default) or the tenant's own SMTP server.

The SMTP password is write-only: it is never returned; a change that leaves it out keeps the stored
one, an explicit null removes it. It is not kept in the setting record: the record names the
tenant's Secrets Manager secret and the version that holds it (services/email/transports.py).
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, Field, StringConstraints, field_validator, model_validator

from shared.types import OUTPUT, Email, OptHeaderText200, input_config

Host = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=253, pattern=r"^[0-9A-Za-z.:-]+$"),
]


class TransportKind(StrEnum):
    ses = "ses"
    smtp = "smtp"


class Security(StrEnum):
    none = "none"  # plain SMTP (an internal relay); no login allowed
    starttls = "starttls"  # upgrade on the submission port (587)
    tls = "tls"  # implicit TLS (465)


class SmtpIn(BaseModel):
    """A login (`username`, `password`) only over TLS (`security` starttls or tls); a `password`
    only with a `username`. `host` is a name or an address the outbound guard lets the sender reach
    (no link-local, multicast or unspecified address; 422 otherwise)."""

    model_config = input_config(
        allOf=[
            {
                "anyOf": [
                    {"properties": {"security": {"enum": [Security.starttls.value, Security.tls.value]}}},
                    {"properties": {"username": {"type": "null"}, "password": {"type": "null"}}},
                ]
            },
            {
                "anyOf": [
                    {"properties": {"password": {"type": "null"}}},
                    {"required": ["username"], "properties": {"username": {"type": "string"}}},
                ]
            },
        ]
    )

    host: Host
    port: int = Field(default=587, ge=1, le=65535)
    security: Security = Security.starttls
    username: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    password: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None

    @field_validator("host")
    @classmethod
    def _not_link_local(cls, host: str) -> str:
        """No instance-metadata or link-local addresses: the sender runs inside our network."""
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return host
        if address.is_link_local or address.is_multicast or address.is_unspecified:
            raise ValueError("not an address a mail server can have")
        return host

    @model_validator(mode="after")
    def _login_needs_tls(self) -> Self:
        if self.security == Security.none and (self.username or self.password):
            raise ValueError("a login is sent only over TLS: choose starttls or tls")
        if self.password and not self.username:
            raise ValueError("a password needs a username")
        return self


class EmailSettingsIn(BaseModel):
    """PUT /email/settings: the sending identity and the transport. Transport `smtp` needs `smtp`;
    transport `ses` needs a From address SES has as a verified identity (422 `unverified_identity`)."""

    model_config = input_config(
        anyOf=[
            {"properties": {"transport": {"const": TransportKind.ses.value}}},
            {"required": ["smtp"], "properties": {"smtp": {"type": "object"}}},
        ]
    )

    from_address: Email | None = Field(
        None, description="The From address; left out: no-reply@ the stack's sending domain (SendingDomain)"
    )
    from_name: OptHeaderText200 = None  # the From header's name: one line
    reply_to: Annotated[list[Email], Field(max_length=5)] = Field(default_factory=list)
    transport: TransportKind = TransportKind.ses
    smtp: SmtpIn | None = None

    @model_validator(mode="after")
    def _smtp_needs_server(self) -> Self:
        if self.transport == TransportKind.smtp and self.smtp is None:
            raise ValueError("transport smtp needs the smtp server (host, port, security)")
        return self


class SmtpOut(BaseModel):
    model_config = OUTPUT

    host: str
    port: int
    security: Security
    username: str | None = None
    password_set: bool = False


class EmailSettingsOut(BaseModel):
    """GET /email/settings: never the password, only whether one is stored."""

    model_config = OUTPUT

    from_address: str
    from_name: str | None = None
    reply_to: list[str] = Field(default_factory=list)
    transport: TransportKind = TransportKind.ses
    smtp: SmtpOut | None = None


class SmtpServer(BaseModel):
    """What the sender reads from the stored setting."""

    model_config = OUTPUT

    host: str
    port: int = 587
    security: Security = Security.starttls
    username: str | None = None
    password: str | None = None  # only in records saved before the password moved to Secrets Manager
    password_secret: str | None = None  # the secret's name, and the version that holds this server's password
    password_version: str | None = None


SECRET_FIELDS = ("password_secret", "password_version", "password")


def merged(change: EmailSettingsIn, stored: dict[str, Any]) -> dict[str, Any]:
    """The setting to store: the change, with the stored password kept unless the change names one (or null).

    `smtp.password` is in the result only when the change names one (a string to store, or None);
    a kept password is the stored record's reference to its secret (`password_secret`, `password_version`).
    """
    value = change.model_dump(mode="json", exclude={"smtp"})
    if change.smtp is None:
        value["smtp"] = None
        return value
    smtp = change.smtp.model_dump(mode="json")
    if "password" not in change.smtp.model_fields_set:
        del smtp["password"]
        old = stored.get("smtp") or {}
        same_login = old.get("host") == smtp["host"] and old.get("username") == smtp["username"]
        if same_login:  # never carried to another server
            smtp.update({name: old[name] for name in SECRET_FIELDS if old.get(name)})
    value["smtp"] = smtp
    return value


def shown(stored: dict[str, Any]) -> EmailSettingsOut:
    smtp = stored.get("smtp")
    password_set = bool(smtp and (smtp.get("password") or smtp.get("password_secret")))
    out = {**stored, "smtp": {**smtp, "password_set": password_set} if smtp else None}
    return EmailSettingsOut.model_validate(out)
