"""The default From is on the stack's sending domain (template.yaml's SendingDomain, env SENDING_DOMAIN)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from services.email import settings
from services.email.service import DEFAULTS
from services.email.transactional import SENDER_SETTING

pytestmark = pytest.mark.disable_socket


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    settings.load.cache_clear()
    yield
    settings.load.cache_clear()


def test_a_tenant_without_a_from_sends_as_no_reply_at_the_sending_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENDING_DOMAIN", "mail.example.com")
    assert settings.default_from_address() == "no-reply@mail.example.com"
    assert DEFAULTS.value(SENDER_SETTING)["from_address"] == "no-reply@mail.example.com"


@pytest.mark.parametrize("domain", [None, "", "Mail.Example.com", "example"])
def test_no_sending_domain_no_default_from(monkeypatch: pytest.MonkeyPatch, domain: str | None) -> None:
    if domain is None:
        monkeypatch.delenv("SENDING_DOMAIN", raising=False)
    else:
        monkeypatch.setenv("SENDING_DOMAIN", domain)
    with pytest.raises(ValidationError):
        settings.default_from_address()
