"""Email templates through the gateway: save-time checks, preview from the recipients projection."""

from __future__ import annotations

import time
from typing import Any

from shared.ids import derived_id, new_id
from tests.e2e.email.helpers import send_requested
from tests.e2e.helpers import assert_problem, envelopes, new_tenant, put_envelope, settle, walk

TEMPLATE = {
    "name": "Welcome",
    "subject": "Welcome {{ contact.first_name }} of {{ account.name }}",
    "html": "<p>Hi {{ contact.first_name }}, owner {{ owner.id }}, case {{ record.case }}</p>",
    "text": "Hi {{ contact.first_name }} ({{ account.city }})",
}


def test_templates_are_checked_when_saved_and_listed_per_tenant(api: Any) -> None:
    tenant = new_tenant()
    client = api.as_(tenant, "u1", "user")
    created = client.post("/email/templates", json=TEMPLATE)
    assert created.status_code == 201, created.text
    template = created.json()
    assert template["html"] == TEMPLATE["html"] and template["version"] == 1

    assert_problem(client.post("/email/templates", json={**TEMPLATE, "html": "{{ contact.shoe_size }}"}), 422, "html")
    assert_problem(
        client.post("/email/templates", json={**TEMPLATE, "subject": "{{ ''.__class__.__mro__ }}"}), 422, "subject"
    )
    assert_problem(client.post("/email/templates", json={**TEMPLATE, "text": "{% if x %}"}), 422, "text")
    bad_patch = client.patch(f"/email/templates/{template['id']}", json={"html": "{{ account.nope }}"})
    assert_problem(bad_patch, 422, "html")
    assert client.get(f"/email/templates/{template['id']}").json()["html"] == TEMPLATE["html"]  # nothing changed

    path = f"/email/templates/{template['id']}"
    changed = client.patch(path, json={"name": "Hello"}, headers={"If-Match": '"1"'}).json()
    assert changed["name"] == "Hello" and changed["version"] == 2
    assert_problem(client.patch(path, json={"name": "x"}, headers={"If-Match": '"1"'}), 412)
    other = client.post("/email/templates", json={**TEMPLATE, "name": "Second"}).json()
    assert [t["id"] for t in walk(client, "/email/templates")] == sorted([template["id"], other["id"]])

    stranger = api.as_(new_tenant(), "u1", "admin")
    assert stranger.get(f"/email/templates/{template['id']}").status_code == 404
    assert stranger.get("/email/templates").json()["items"] == []
    assert client.delete(f"/email/templates/{other['id']}").status_code == 204
    assert client.get(f"/email/templates/{other['id']}").status_code == 404


def test_preview_renders_for_a_directory_contact_and_follows_its_account(api: Any, stack: Any) -> None:
    tenant = new_tenant()
    admin = api.as_(tenant, "boss", "admin")
    account = admin.post("/accounts", json={"name": "Acme & Sons", "city": "Turku"}).json()
    contact = admin.post(
        "/contacts", json={"first_name": "<b>Ann</b>", "email": "ann@example.com", "account_id": account["id"]}
    ).json()
    template = admin.post("/email/templates", json=TEMPLATE).json()
    url = f"/email/templates/{template['id']}/preview"
    body = {"contact_id": contact["id"], "record": {"case": "T-1"}}

    def preview() -> Any:
        response = admin.post(url, json=body)
        return response.json() if response.status_code == 200 else None

    shown = settle(stack, preview)
    assert shown == {
        "subject": "Welcome <b>Ann</b> of Acme & Sons",
        "html": f"<p>Hi &lt;b&gt;Ann&lt;/b&gt;, owner {contact['owner']['id']}, case T-1</p>",
        "text": "Hi <b>Ann</b> (Turku)",
    }
    assert_problem(admin.post(url, json={"contact_id": contact["id"]}), 422, "html")  # record.case not sent

    # The account's change reaches its contact; redelivering an older event changes nothing.
    assert admin.patch(f"/accounts/{account['id']}", json={"city": "Oulu"}).status_code == 200
    assert settle(stack, lambda: (p := preview()) and p["text"].endswith("(Oulu)"))
    # Both the same delivery again (dedupe) and the old event under a new id (the version guard).
    for event_type in ("account.created", "contact.created"):
        old = envelopes(stack, tenant, event_type)[0]
        put_envelope(stack, old)
        put_envelope(stack, {**old, "id": new_id()})
    stack.drain()
    assert preview()["text"] == "Hi <b>Ann</b> (Oulu)"

    # Another tenant cannot preview this tenant's contact, even with its own template.
    stranger = api.as_(new_tenant(), "u1", "admin")
    own = stranger.post("/email/templates", json=TEMPLATE).json()
    assert stranger.post(f"/email/templates/{own['id']}/preview", json=body).status_code == 404
    assert stranger.post(url, json=body).status_code == 404

    # Erased: the projection forgets the contact, and a late contact.updated does not bring it back.
    assert admin.post(f"/contacts/{contact['id']}/erase").status_code == 200
    assert settle(stack, lambda: admin.post(url, json=body).status_code == 404)
    put_envelope(stack, {**envelopes(stack, tenant, "contact.created")[0], "id": new_id()})
    stack.drain()
    assert_problem(admin.post(url, json=body), 404)


# Sized to be quick without the sandbox's limits too (so on a tree without them these tests fail
# on what they assert instead of hanging): `7 ** 300000` for `7 ** 30000000`, 300 KB for 10 MB.
# Saved fine: the sizes come with the data.
OVER_THE_LIMITS = "<p>{{ 'x' * record.n }}</p>{% for i in range(record.loops) %}{% endfor %}"


def test_work_over_the_sandbox_limits_is_refused_at_save_naming_the_part_and_the_construct(api: Any) -> None:
    client = api.as_(new_tenant(), "u1", "admin")
    power = assert_problem(client.post("/email/templates", json={**TEMPLATE, "html": "{{ (7 ** 300000) > 1 }}"}), 422)
    assert [(e["field"], e["code"]) for e in power["errors"]] == [("html", "invalid_template")]
    assert "'**' would make a number of 842,206 bits (the limit is 4,096)" in power["errors"][0]["message"]
    template = client.post("/email/templates", json=TEMPLATE).json()
    huge_range = client.patch(
        f"/email/templates/{template['id']}", json={"subject": "{{ range(10**9)|length }} {{ 'x' * 1000000 }}"}
    )
    messages = [(e["field"], e["message"]) for e in assert_problem(huge_range, 422, "subject")["errors"]]
    assert messages == [
        ("subject", "Line 1: range() would have 1,000,000,000 items (the limit is 10,000)."),
        ("subject", "Line 1: '*' would make a value of 1,000,000 characters (the limit is 250,000)."),
    ]
    assert client.get(f"/email/templates/{template['id']}").json()["subject"] == TEMPLATE["subject"]


def test_a_render_over_the_limits_fails_that_preview_or_that_mail_with_the_reason(api: Any, stack: Any) -> None:
    tenant = new_tenant()
    admin = api.as_(tenant, "boss", "admin")
    contact = admin.post("/contacts", json={"first_name": "Ann", "email": "ann@example.com"}).json()
    created = admin.post("/email/templates", json={**TEMPLATE, "html": OVER_THE_LIMITS, "text": ""})
    assert created.status_code == 201, created.text
    url = f"/email/templates/{created.json()['id']}/preview"
    fine = settle(
        stack,
        lambda: (r := admin.post(url, json={"contact_id": contact["id"], "record": {"n": 3, "loops": 2}})).ok and r,
    )
    assert fine.json()["html"] == "<p>xxx</p>"

    started = time.monotonic()
    refused = assert_problem(
        admin.post(url, json={"contact_id": contact["id"], "record": {"n": 300_000, "loops": 2}}), 422
    )
    assert time.monotonic() - started < 5
    assert [(e["field"], e["code"], e["message"]) for e in refused["errors"]] == [
        (
            "html",
            "render_limit",
            "The html cannot be rendered: '*' would make a value of 300,000 characters (the limit is 250,000).",
        )
    ]
    loops = admin.post(url, json={"contact_id": contact["id"], "record": {"n": 3, "loops": 200_000}})
    assert assert_problem(loops, 422, "html")["errors"][0]["message"] == (
        "The html cannot be rendered: range() would have 200,000 items (the limit is 10,000)."
    )  # a range over Jinja2's own cap was a 500

    # At send time: the mail over the limit fails with the reason; the request beside it goes.
    over = send_requested(
        tenant, to="ann@example.com", template_id=created.json()["id"], data={"n": 300_000, "loops": 2}
    )
    within = send_requested(tenant, to="bob@example.com", template_id=created.json()["id"], data={"n": 2, "loops": 2})
    put_envelope(stack, over)
    put_envelope(stack, within)
    sent = settle(stack, lambda: envelopes(stack, tenant, "email.sent"))
    assert [e["data"]["to"] for e in sent] == ["bob@example.com"]
    failed = admin.get(f"/email/messages/{derived_id('scanner', over['data']['request_id'])}").json()
    assert failed["status"] == "failed"
    assert refused["errors"][0]["message"] in failed["error"]
