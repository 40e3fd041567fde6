"""A tenant's SMTP server is reached only through the outbound guard [issue 14 §2], and its password
is kept in Secrets Manager. The local stack allows only 127.0.0.1 and ::1 (template parameter
OutboundAllow, infra/template.py LOCAL_PARAMETERS); 127.0.0.2 stands for a refused network, so a
broken guard would still connect only to this machine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from infra.runtime import LocalRuntime
from services.email.transactional import SENDER_SETTING
from shared.ids import derived_id
from shared.service import SETTING
from tests.e2e.conftest import Api
from tests.e2e.email.test_smtp import Inbox, _message, _request
from tests.e2e.helpers import assert_problem, envelopes, put_envelope, put_stored, settle, stored_data, table_name

REFUSED_LOOPBACK = "127.0.0.2"


@pytest.fixture
def refused_inbox() -> Iterator[Inbox]:
    """A real SMTP server on a loopback address the guard does not allow."""
    handler = Inbox()
    controller = Controller(handler, hostname=REFUSED_LOOPBACK, port=handler.port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


def _body(**smtp: Any) -> dict[str, Any]:
    return {"from_address": "sales@own-server.example", "transport": "smtp", "smtp": {"security": "none", **smtp}}


@pytest.mark.parametrize(
    ("host", "port", "field"),
    [
        ("2852039166", 587, "smtp.host"),  # 169.254.169.254, the instance metadata service
        ("0xa9fea9fe", 587, "smtp.host"),
        ("169.254.43518", 25, "smtp.host"),
        ("0251.0376.0251.0376", 25, "smtp.host"),
        ("::ffff:169.254.169.254", 587, "smtp.host"),
        ("0", 25, "smtp.host"),
        ("127.0.0.2", 25, "smtp.host"),
        ("10.0.0.1", 587, "smtp.host"),
        ("172.16.5.4", 587, "smtp.host"),
        ("100.64.0.1", 587, "smtp.host"),
        ("fd00::25", 587, "smtp.host"),
        ("8.8.8.8", 6379, "smtp.port"),
    ],
)
def test_a_server_inside_any_network_is_refused_at_save(admin: Api, host: str, port: int, field: str) -> None:
    before = admin.get("/email/settings").json()
    assert_problem(admin.put("/email/settings", json=_body(host=host, port=port)), 422, field)
    assert admin.get("/email/settings").json() == before


def test_the_local_stack_allows_its_own_loopback_on_any_port(admin: Api) -> None:
    saved = admin.put("/email/settings", json=_body(host="127.0.0.1", port=1025))
    assert saved.status_code == 200, saved.text


def test_the_sender_refuses_a_server_the_guard_refuses_even_when_stored(
    stack: LocalRuntime, admin: Api, tenant: str, refused_inbox: Inbox
) -> None:
    """A setting saved before the guard (or written around the API) fails its mails with a reason, unsent."""
    assert admin.put("/email/settings", json=_body(host="127.0.0.1", port=refused_inbox.port)).status_code == 200
    table = table_name(stack, "EmailTable")
    setting = stored_data(stack, table, tenant, SETTING, SENDER_SETTING)
    put_stored(
        stack,
        table,
        tenant,
        SETTING,
        SENDER_SETTING,
        {**setting, "smtp": {**setting["smtp"], "host": REFUSED_LOOPBACK}},
    )

    envelope = _request(tenant, text="to a refused server")
    message_id = derived_id("scanner", envelope["data"]["request_id"])
    put_envelope(stack, envelope)
    assert settle(stack, lambda: _message(admin, message_id)["status"] == "failed"), _message(admin, message_id)
    assert "127.0.0.2 is not a public internet address" in _message(admin, message_id)["error"]
    assert refused_inbox.mails == [] and envelopes(stack, tenant, "email.sent") == []


def test_the_password_is_kept_in_secrets_manager_not_in_the_setting(
    stack: LocalRuntime, admin: Api, tenant: str
) -> None:
    body = _body(host="mail.acme.example", port=465, security="tls", username="u", password="s3cret-in-a-secret")
    saved = admin.put("/email/settings", json=body)
    assert saved.status_code == 200, saved.text
    assert saved.json()["smtp"]["password_set"] is True and "s3cret-in-a-secret" not in saved.text
    stored = stored_data(stack, table_name(stack, "EmailTable"), tenant, SETTING, SENDER_SETTING)
    assert "s3cret-in-a-secret" not in repr(stored)
    secret = stack.client("secretsmanager").get_secret_value(SecretId=f"kontakt/dev/smtp/{tenant}")
    assert secret["SecretString"] == "s3cret-in-a-secret" and stored["smtp"]["password_version"] == secret["VersionId"]

    removed = admin.put("/email/settings", json={**body, "smtp": {**body["smtp"], "password": None}})
    assert removed.json()["smtp"]["password_set"] is False
    with pytest.raises(stack.client("secretsmanager").exceptions.ResourceNotFoundException):
        stack.client("secretsmanager").get_secret_value(SecretId=f"kontakt/dev/smtp/{tenant}")
