"""List types and the one-click unsubscribe link through the gateway, as a mail client and a recipient use them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.email.unsubscribe import legacy_unsubscribe_token, unsubscribe_token
from shared.ids import new_id
from tests.e2e.email.helpers import link_keys, list_mail, opted_out, unsubscribe_link_token
from tests.e2e.helpers import assert_problem, envelopes, new_tenant, settle, walk
from tests.mail_wire import assert_opaque

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ONE_CLICK = "List-Unsubscribe=One-Click"


def test_list_types_start_with_the_defaults_and_managers_manage_them(api: Any) -> None:
    tenant = new_tenant()
    admin, user = api.as_(tenant, "a1", "admin"), api.as_(tenant, "u1", "user")
    listed = user.get("/email/list-types")
    assert listed.status_code == 200, listed.text
    assert {(t["id"], t["name"]) for t in listed.json()["items"]} == {
        ("marketing", "Marketing"),
        ("service-notices", "Service notices"),
    }
    assert_problem(user.post("/email/list-types", json={"name": "News"}), 403)
    assert_problem(admin.post("/email/list-types", json={"name": " "}), 422, "name")
    assert_problem(admin.post("/email/list-types", json={"name": "x", "colour": "red"}), 422, "colour")
    manager = api.as_(tenant, "m1", "manager")
    created = manager.post("/email/list-types", json={"name": "Events", "description": "Fairs"})
    assert created.status_code == 201, created.text
    events = created.json()
    assert (events["name"], events["description"], events["version"]) == ("Events", "Fairs", 1)

    changed = admin.patch(
        f"/email/list-types/{events['id']}", json={"name": "Events and fairs"}, headers={"If-Match": '"1"'}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["description"], changed.json()["version"]) == (
        "Events and fairs",
        "Fairs",
        2,
    )
    stale = admin.patch(f"/email/list-types/{events['id']}", json={"name": "Stale"}, headers={"If-Match": '"1"'})
    assert_problem(stale, 412)
    assert user.get(f"/email/list-types/{events['id']}").json()["name"] == "Events and fairs"
    assert len(walk(user, "/email/list-types", limit=1)) == 3

    assert_problem(user.delete("/email/list-types/marketing"), 403)
    assert admin.delete("/email/list-types/marketing").status_code == 204
    assert_problem(user.get("/email/list-types/marketing"), 404)
    # A deleted default stays deleted; another tenant still has its own.
    assert {t["id"] for t in user.get("/email/list-types").json()["items"]} == {"service-notices", events["id"]}
    other = api.as_(new_tenant(), "a2", "admin")
    assert {t["id"] for t in other.get("/email/list-types").json()["items"]} == {"marketing", "service-notices"}
    assert_problem(other.get(f"/email/list-types/{events['id']}"), 404)


def test_one_click_unsubscribes_once_and_only_from_that_list_type(api: Any, stack: Any, key: bytes) -> None:
    tenant = new_tenant()
    admin = api.as_(tenant, "a1", "admin")
    anonymous = api.anonymous()
    token = unsubscribe_link_token(stack, tenant, "Ann.Smith@Example.com", "marketing", contact_id="c1")
    assert_opaque(token, "Ann.Smith@Example.com")  # the link names the mail; the server knows whose it is

    landing = anonymous.get(f"/u/{token}")
    assert landing.status_code == 200, landing.text
    assert landing.headers["content-type"].startswith("text/html")
    assert "Marketing" in landing.text and "an***@example.com" in landing.text
    assert "ann.smith" not in landing.text.lower()
    assert 'value="unsubscribe"' in landing.text
    assert opted_out(admin, "marketing") == []

    for _ in range(2):  # a mail client may deliver the POST twice
        clicked = anonymous.post(f"/u/{token}", data=ONE_CLICK, headers=FORM)
        assert clicked.status_code == 200, clicked.text
    assert opted_out(admin, "marketing") == ["ann.smith@example.com"]
    assert opted_out(admin, "service-notices") == []
    page = anonymous.get(f"/u/{token}").text
    assert 'value="subscribe"' in page and "Subscribe again" in page

    settle(stack, lambda: envelopes(stack, tenant, "email.unsubscribed"))
    stack.drain()
    published = envelopes(stack, tenant, "email.unsubscribed")
    assert len(published) == 1, published
    data = published[0]["data"]
    assert (data["address"], data["list_type_id"], data["contact_id"]) == ("ann.smith@example.com", "marketing", "c1")

    # The recipient subscribes again from the landing page, and can leave again.
    again = anonymous.post(f"/u/{token}", data={"action": "subscribe"})
    assert again.status_code == 200, again.text
    assert 'value="unsubscribe"' in again.text
    assert opted_out(admin, "marketing") == []
    left = anonymous.post(f"/u/{token}", data={"action": "unsubscribe"})
    assert left.status_code == 200 and 'value="subscribe"' in left.text
    assert opted_out(admin, "marketing") == ["ann.smith@example.com"]
    assert_problem(anonymous.post(f"/u/{token}", data={"action": "delete"}), 400, "body.action")


def test_forged_altered_and_expired_links_change_nothing(api: Any, stack: Any, key: bytes) -> None:
    tenant = new_tenant()
    admin = api.as_(tenant, "a1", "admin")
    anonymous = api.anonymous()
    keys = link_keys(stack)
    message_id = list_mail(stack, tenant, "bob@example.com", "marketing")
    real = unsubscribe_token(tenant, message_id, keys=keys)
    forged = unsubscribe_token(tenant, message_id, keys=[b"not the key"])
    other_tenant = unsubscribe_token(new_tenant(), message_id, keys=keys)  # signed right, no such mail there
    old = datetime.now(UTC) - timedelta(days=366)
    expired = unsubscribe_token(tenant, list_mail(stack, tenant, "bob@example.com", "marketing", created_at=old), keys)
    altered = [real[:i] + ("A" if real[i] != "A" else "B") + real[i + 1 :] for i in range(0, len(real), 9)]
    for token in (forged, other_tenant, expired, unsubscribe_token(tenant, new_id(), keys), *altered):
        assert_problem(anonymous.get(f"/u/{token}"), 404)
        assert_problem(anonymous.post(f"/u/{token}", data=ONE_CLICK, headers=FORM), 404)
    assert_problem(anonymous.post("/u/not.a.token", data=ONE_CLICK, headers=FORM), 422)
    assert opted_out(admin, "marketing") == []

    # A link to a list type the tenant does not have is refused too.
    unknown = unsubscribe_token(tenant, list_mail(stack, tenant, "bob@example.com", "nope"), keys)
    assert_problem(anonymous.post(f"/u/{unknown}", data=ONE_CLICK, headers=FORM), 404)
    # JSON is still all that the other routes take.
    assert_problem(admin.post("/email/list-types", data="name=x", headers=FORM), 415)


def test_a_legacy_link_of_mail_already_sent_still_works_until_its_removal_date(api: Any, key: bytes) -> None:
    """Mail sent before opaque links carries a claims-format link (the address inside, signed with the
    stack's cursor secret): honoured until LEGACY_LINKS_UNTIL, so its recipient can still leave."""
    tenant = new_tenant()
    admin, anonymous = api.as_(tenant, "a1", "admin"), api.anonymous()
    legacy = legacy_unsubscribe_token(tenant, "Old.Reader@Example.com", "marketing", contact_id="c9", key=key)
    assert "Marketing" in anonymous.get(f"/u/{legacy}").text
    assert anonymous.post(f"/u/{legacy}", data=ONE_CLICK, headers=FORM).status_code == 200
    assert opted_out(admin, "marketing") == ["old.reader@example.com"]
    body, mac = legacy.split(".")
    forged = legacy_unsubscribe_token(tenant, "x@example.com", "service-notices", key=b"not the key")
    for token in (f"{body}.{mac[:-2]}xx", forged):
        assert_problem(anonymous.post(f"/u/{token}", data=ONE_CLICK, headers=FORM), 404)
    assert opted_out(admin, "service-notices") == []


def test_managers_record_and_remove_opt_outs(api: Any) -> None:
    tenant = new_tenant()
    manager, user = api.as_(tenant, "m1", "manager"), api.as_(tenant, "u1", "user")
    assert_problem(user.post("/email/list-types/marketing/opt-outs", json={"address": "x@example.com"}), 403)
    assert_problem(manager.post("/email/list-types/marketing/opt-outs", json={"address": "nope"}), 422, "address")
    body = {"address": " X@Example.com ", "contact_id": "c9"}
    added = manager.post("/email/list-types/marketing/opt-outs", json=body)
    assert added.status_code == 201, added.text
    assert (added.json()["address"], added.json()["source"], added.json()["contact_id"]) == (
        "x@example.com",
        "user:m1",
        "c9",
    )
    assert opted_out(user, "marketing") == ["x@example.com"]
    gone = manager.delete("/email/list-types/marketing/opt-outs", params={"address": "x@example.com"})
    assert gone.status_code == 204, gone.text
    assert opted_out(user, "marketing") == []
    assert_problem(manager.delete("/email/list-types/marketing/opt-outs", params={"address": "x@example.com"}), 404)
