"""Every write of the email API publishes its event with it (the audit trail records each one):
templates, list types and their opt-outs, campaigns and automations, through the API handler
in-process against the emulator. An update's event holds its fields old -> new; a PATCH that
changes nothing writes nothing and publishes nothing. (The sending settings' event, with its
`[secret]` password: tests/unit/email/test_transports_guard.py.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.events import Envelope
from shared.ids import new_id
from tests.integration.conftest import http_event

TEMPLATE = {"name": "Welcome", "subject": "Hi {{ contact.first_name }}", "html": "<p>Hi</p>", "text": "Hi"}
DAILY = {"mode": "rate", "expression": "rate(1 day)"}


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[Envelope]:
    """The events the handlers put in their transactions' outboxes (committed or not)."""
    from shared.store import UnitOfWork

    events: list[Envelope] = []
    publish = UnitOfWork.publish

    def recording(uow: Any, event: Envelope) -> None:
        events.append(event)
        publish(uow, event)

    monkeypatch.setattr(UnitOfWork, "publish", recording)
    return events


def test_each_email_write_publishes_its_event_with_the_fields_changed(
    lambda_env: Any, published: list[Envelope]
) -> None:
    from services.email.handlers import api

    context = lambda_env("EmailApiFunction")
    tenant = "t" + new_id().lower()

    def call(method: str, path: str, body: Any = None, status: int = 200, **query: str) -> Any:
        response = api.handler(http_event(method, path, tenant, body, query=query), context)
        assert response["statusCode"] == status, response["body"]
        return json.loads(response["body"]) if response.get("body") else None

    def events() -> list[tuple[str, str | None, dict[str, tuple[Any, Any]]]]:
        """The events published since last asked: type, the payload's id, the changes."""
        found = [(e.type, e.data.get("id"), {c.field: (c.old, c.new) for c in e.changes}) for e in published]
        published.clear()
        return found

    template = call("POST", "/email/templates", TEMPLATE, 201)
    assert events() == [("email_template.created", template["id"], {})]
    call("PATCH", f"/email/templates/{template['id']}", {"name": "Welcome"})
    assert events() == []  # nothing changed: nothing written, no event
    call("PATCH", f"/email/templates/{template['id']}", {"name": "Hello", "text": "Hello"})
    changes = {"name": ("Welcome", "Hello"), "text": ("Hi", "Hello")}
    assert events() == [("email_template.updated", template["id"], changes)]

    list_type = call("POST", "/email/list-types", {"name": "News"}, 201)
    defaults = published[:-1]  # installed first, by the system
    assert {(e.type, e.data["id"], e.actor.type) for e in defaults} == {
        ("email_list_type.created", "marketing", "system"),
        ("email_list_type.created", "service-notices", "system"),
    }
    del published[:-1]
    call("PATCH", f"/email/list-types/{list_type['id']}", {"description": "Monthly"})
    call("POST", f"/email/list-types/{list_type['id']}/opt-outs", {"address": "a@example.com"}, 201)
    call("DELETE", f"/email/list-types/{list_type['id']}/opt-outs", status=204, address="a@example.com")
    assert [(t, c) for t, _, c in events()] == [
        ("email_list_type.created", {}),
        ("email_list_type.updated", {"description": ("", "Monthly")}),
        ("email.unsubscribed", {}),
        ("email.resubscribed", {}),
    ]

    body = {"name": "Spring", "template_id": template["id"], "list_type_id": list_type["id"]}
    campaign = call("POST", "/campaigns", body, 201)
    call("PATCH", f"/campaigns/{campaign['id']}", {"name": "Spring sale"})
    call("POST", f"/campaigns/{campaign['id']}/cancel")
    assert events() == [
        ("email_campaign.created", campaign["id"], {}),
        ("email_campaign.updated", campaign["id"], {"name": ("Spring", "Spring sale")}),
        ("email_campaign.cancelled", campaign["id"], {"status": ("draft", "cancelled")}),
    ]
    draft = call("POST", "/campaigns", body, 201)
    call("DELETE", f"/campaigns/{draft['id']}", status=204)
    assert [t for t, _, _ in events()] == ["email_campaign.created", "email_campaign.deleted"]

    automation = {**body, "name": "Daily", "target_group_id": new_id(), "schedule": DAILY, "active": False}
    made = call("POST", "/email/automations", automation, 201)
    call("PATCH", f"/email/automations/{made['id']}", {"name": "Every day"})
    call("DELETE", f"/email/automations/{made['id']}", status=204)
    call("DELETE", f"/email/templates/{template['id']}", status=204)
    call("DELETE", f"/email/list-types/{list_type['id']}", status=204)
    assert events() == [
        ("email_automation.created", made["id"], {}),
        ("email_automation.updated", made["id"], {"name": ("Daily", "Every day")}),
        ("email_automation.deleted", made["id"], {}),
        ("email_template.deleted", template["id"], {}),
        ("email_list_type.deleted", list_type["id"], {}),
    ]
