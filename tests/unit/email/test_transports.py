"""The "email" setting's transport part: validation, and the SMTP password is write-only."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.email.domain.transports import EmailSettingsIn, Security, merged, shown
from services.email.transports import SesTransport, SmtpTransport, _crlf, transport_for


def _smtp(**fields: Any) -> dict[str, Any]:
    return {
        "from_address": "sales@acme.example",
        "transport": "smtp",
        "smtp": {"host": "Mail.Acme.example", "port": 587, **fields},
    }


def test_smtp_settings_are_validated() -> None:
    ok = EmailSettingsIn.model_validate(_smtp(username="u", password="p"))
    assert ok.smtp is not None and ok.smtp.host == "mail.acme.example" and ok.smtp.security == Security.starttls
    bad: list[dict[str, Any]] = [
        {"transport": "smtp"},  # no server
        {"transport": "carrier-pigeon"},
        _smtp(port=0),
        _smtp(port=70000),
        _smtp(security="ssl3"),
        _smtp(host="mail acme"),
        _smtp(host=""),
        _smtp(host="169.254.169.254"),  # instance metadata
        _smtp(security="none", username="u", password="p"),  # a login in clear text
        _smtp(password="p"),  # a password without a username
        _smtp(unknown=1),
        {"from_address": "not an address"},
    ]
    for value in bad:
        with pytest.raises(ValidationError):
            EmailSettingsIn.model_validate(value)


def test_the_password_is_never_shown() -> None:
    stored = merged(EmailSettingsIn.model_validate(_smtp(username="u", password="secret")), {})
    assert stored["smtp"]["password"] == "secret"
    out = shown(stored).model_dump(mode="json")
    assert "secret" not in str(out)
    assert out["smtp"] == {"host": "mail.acme.example", "port": 587, "security": "starttls", "username": "u"} | {
        "password_set": True
    }


def test_a_change_without_the_password_keeps_it_for_the_same_login_only() -> None:
    secret = {"password_secret": "kontakt/dev/smtp/t1", "password_version": "v1"}
    stored = {"smtp": {"host": "mail.acme.example", "port": 587, "security": "starttls", "username": "u", **secret}}
    kept = merged(EmailSettingsIn.model_validate(_smtp(username="u", port=465, security="tls")), stored)
    assert kept["smtp"]["port"] == 465 and "password" not in kept["smtp"]
    assert {k: kept["smtp"][k] for k in secret} == secret and shown(kept).smtp.password_set  # type: ignore[union-attr]
    other_host = EmailSettingsIn.model_validate({**_smtp(username="u"), "smtp": {"host": "evil.example"}})
    assert not set(secret) & set(merged(other_host, stored)["smtp"])  # never carried to another server
    removed = merged(EmailSettingsIn.model_validate(_smtp(username="u", password=None)), stored)["smtp"]
    assert removed["password"] is None and not set(secret) & set(removed)
    assert merged(EmailSettingsIn.model_validate({"transport": "ses"}), stored)["smtp"] is None


def test_the_transport_follows_the_setting() -> None:
    assert isinstance(transport_for({"from_address": "a@b.example"}), SesTransport)
    assert isinstance(transport_for({"transport": "ses", "smtp": None}), SesTransport)
    smtp = transport_for(merged(EmailSettingsIn.model_validate(_smtp(security="tls")), {}))
    assert isinstance(smtp, SmtpTransport) and smtp.server.port == 587 and smtp.server.security == Security.tls


def test_line_ends_become_crlf() -> None:
    assert _crlf(b"a\nb\r\nc\n") == b"a\r\nb\r\nc\r\n"
