"""Open and click tracking and the per-recipient unsubscribe through the stack, as a mail client
and a recipient use a campaign mail's links.

The mail goes the real way (email.send_requested -> sender -> SES on moto); it is then made a
campaign's recipient the way campaign staging writes it (`campaign_id`, `tracking` on the message),
with the links the sender records when it claims a tracked mail (`links`), and its HTML is
instrumented with the stack's link keys and public base URL, as the sender does. Tokens split at
"." are the claims format of mail sent before opaque links (legacy, honoured until LEGACY_LINKS_UNTIL).
"""

from __future__ import annotations

import re
from typing import Any

import requests

from infra.runtime import LocalRuntime
from services.email.domain import tokens
from services.email.domain.tokens import sign, unb64
from services.email.domain.tracking import instrument, links_of
from services.email.domain.tracking import legacy_tracking_token as tracking_token
from services.email.unsubscribe import legacy_unsubscribe_token, unsubscribe_token
from shared.ids import derived_id, new_id
from tests.e2e.conftest import Api
from tests.e2e.email.helpers import (
    TABLE,
    campaign_counts,
    link_keys,
    raw_sent,
    request_mail,
    sent_mails,
    stored_message,
)
from tests.e2e.helpers import assert_problem, drain, envelopes, new_tenant, record_item_key, settle
from tests.mail_wire import assert_one_click_on_the_wire, assert_opaque

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
HTML = """<html><body><p>News</p>
<a href="https://shop.example/offer?a=1&amp;b=2">Offer</a>
<a href="https://shop.example/about">About</a>
<a href="mailto:help@example.com">Help</a>
</body></html>"""


def _settle(stack: LocalRuntime, ready: Any) -> Any:
    """helpers.settle for about two minutes in 10-second drains, one that times out no failure (a busy
    machine is slow, not broken)."""
    return settle(stack, ready, attempts=12, timeout=10, busy_ok=True)


def _sent_mail(stack: LocalRuntime, message_id: str) -> Any:
    return sent_mails(stack)[message_id][0]


def _campaign_mail(stack: LocalRuntime, tenant: str, to: str, tracking: dict[str, bool]) -> tuple[str, str]:
    """A marketing mail sent through the stack, then made a campaign's recipient: (message id, campaign id)."""
    campaign_id = new_id()
    message_id = request_mail(stack, tenant, "newsletter", to=to, subject="News", html=HTML, list_type_id="marketing")
    sent = _settle(stack, lambda: stored_message(stack, tenant, message_id).get("status") == "sent")
    assert sent, stored_message(stack, tenant, message_id)
    drain(stack, timeout=120)  # the feedback of the send (the tenant lookup) has been written
    flags = {name: {"BOOL": on} for name, on in tracking.items()}
    links = {"L": [{"S": link} for link in links_of(HTML, stack.api_url)]}
    stack.client("dynamodb").update_item(
        TableName=TABLE,
        Key=record_item_key(tenant, "message", message_id),
        UpdateExpression="SET #d.campaign_id = :c, #d.tracking = :t, #d.links = :l ADD #v :one",  # no stale write
        ExpressionAttributeNames={"#d": "data", "#v": "version"},
        ExpressionAttributeValues={":c": {"S": campaign_id}, ":t": {"M": flags}, ":l": links, ":one": {"N": "1"}},
    )
    return message_id, campaign_id


def _links(html: str, base: str) -> list[str]:
    return re.findall(r'(?:href|src)="(' + re.escape(base) + r'/t/[^"]+)"', html)


def test_the_mail_s_public_links_point_at_the_local_gateway(stack: LocalRuntime, tenant: str) -> None:
    message_id, _ = _campaign_mail(stack, tenant, "links@example.com", {"opens": True, "clicks": True})
    header = _sent_mail(stack, message_id)["List-Unsubscribe"]
    link = header.split(",")[0].strip()[1:-1]
    assert link.startswith(f"{stack.api_url}/u/"), header
    page = requests.get(link, timeout=30)  # the link a developer's mail carries works as it is
    assert page.status_code == 200 and "Unsubscribe" in page.text, page.text


def test_opens_and_clicks_are_recorded_once_and_clicks_go_where_the_mail_said(
    stack: LocalRuntime, api: Api, tenant: str, key: bytes
) -> None:
    message_id, campaign_id = _campaign_mail(stack, tenant, "Reader@Example.com", {"opens": True, "clicks": True})
    html = instrument(HTML, stack.api_url, tenant, message_id, opens=True, clicks=True, keys=link_keys(stack))
    offer, about, pixel = _links(html, stack.api_url)
    assert "mailto:help@example.com" in html

    for _ in range(2):  # a mail client loads the pixel every time the mail is shown
        shown = requests.get(pixel, timeout=30)
        assert shown.status_code == 200 and shown.headers["Content-Type"] == "image/gif", shown.text
        assert shown.content.startswith(b"GIF89a") and "no-store" in shown.headers["Cache-Control"]
    for link, target in ((offer, "https://shop.example/offer?a=1&b=2"), (offer, None), (about, None)):
        clicked = requests.get(link + "?url=https://evil.example/", allow_redirects=False, timeout=30)
        assert clicked.status_code == 302, clicked.text
        assert clicked.headers["Location"] == (target or clicked.headers["Location"])
        assert "evil" not in clicked.headers["Location"]
    assert requests.get(about, allow_redirects=False, timeout=30).headers["Location"] == "https://shop.example/about"

    opened = _settle(stack, lambda: envelopes(stack, tenant, "email.opened"))
    clicks = _settle(stack, lambda: len(envelopes(stack, tenant, "email.clicked")) >= 2 or None)
    assert clicks
    drain(stack, timeout=120)
    [opened] = envelopes(stack, tenant, "email.opened")
    assert (opened["data"]["message_id"], opened["data"]["campaign_id"]) == (message_id, campaign_id)
    assert opened["data"]["to"] == "reader@example.com"
    urls = sorted(e["data"]["url"] for e in envelopes(stack, tenant, "email.clicked"))
    assert urls == ["https://shop.example/about", "https://shop.example/offer?a=1&b=2"]
    message = stored_message(stack, tenant, message_id)
    assert "opened_at" in message and "clicked_at" in message
    counts = campaign_counts(stack, tenant, campaign_id)
    assert (counts.get("opened"), counts.get("clicked")) == (1, 1), (counts, message)  # once per recipient


def test_forged_or_altered_links_record_nothing(stack: LocalRuntime, tenant: str, key: bytes) -> None:
    message_id, campaign_id = _campaign_mail(stack, tenant, "forged@example.com", {"opens": True, "clicks": True})
    real = tracking_token(tenant, message_id, "click", 0, key)
    evil = tracking_token(tenant, message_id, "click", 1, b"not the key")
    swapped = f"{evil.split('.')[0]}.{real.split('.')[1]}"
    malformed = ("garbage", "a.b", "e30.x", "W10.x", "bnVsbA.x")
    for token in (evil, swapped, *malformed):
        response = requests.get(f"{stack.api_url}/t/{token}", allow_redirects=False, timeout=30)
        assert_problem(response, 400)
        assert "Location" not in response.headers
    # Characters no link token has, or a token longer than any link: the path's pattern refuses it.
    for token in ("%C3%A9.%C3%A9", "x.%C3%BF", "a.b.c", "x" * 4001):
        response = requests.get(f"{stack.api_url}/t/{token}", allow_redirects=False, timeout=30)
        assert_problem(response, 422, "path.token")
        assert "Location" not in response.headers
    for token in ("x%0D%0A.x", "x." + "%FF" * 10):  # no route at the local gateway, a 400 behind another
        broken = requests.get(f"{stack.api_url}/t/{token}", allow_redirects=False, timeout=30)
        assert broken.status_code in (400, 404) and "Location" not in broken.headers
    pixel = tracking_token(tenant, message_id, "open", None, b"not the key")
    assert_problem(requests.get(f"{stack.api_url}/t/{pixel}", timeout=30), 404)
    other_tenant = tracking_token("t" + new_id().lower()[:16], message_id, "open", None, key)
    assert requests.get(f"{stack.api_url}/t/{other_tenant}", timeout=30).status_code == 200  # a pixel, no record
    drain(stack, timeout=120)
    assert envelopes(stack, tenant, "email.opened") == envelopes(stack, tenant, "email.clicked") == []
    message = stored_message(stack, tenant, message_id)
    assert "opened_at" not in message and "clicked_at" not in message
    assert campaign_counts(stack, tenant, campaign_id) == {}


def test_a_click_goes_only_to_a_link_its_mail_carried(stack: LocalRuntime, tenant: str, key: bytes) -> None:
    """No open redirect: a click token names a link of its message, signed with its tenant's key."""
    message_id, _ = _campaign_mail(stack, tenant, "clicker@example.com", {"opens": True, "clicks": True})

    def follow(token: str) -> requests.Response:
        return requests.get(f"{stack.api_url}/t/{token}", allow_redirects=False, timeout=30)

    # a token that names its own URL, signed with the stack's key (what every /t/ link was): no redirect
    phish = {"t": tenant, "m": message_id, "k": "click", "u": "https://evil.example/phish"}
    for signed, status in ((sign("track", phish, key), 404), (sign("track", {**phish, "l": 0}, key), 400)):
        response = follow(signed)
        assert_problem(response, status)
        assert "Location" not in response.headers
    # such a link in a mail sent before still goes where that mail said
    legacy = follow(sign("track", {**phish, "u": "https://shop.example/offer?a=1&b=2"}, key))
    assert legacy.headers["Location"] == "https://shop.example/offer?a=1&b=2"
    own = tokens.tenant_key(key, tenant)  # the tenant's key: a link the mail did not carry is unknown
    for link in (2, 99):
        response = follow(sign("track", {"t": tenant, "m": message_id, "k": "click", "l": link}, own))
        assert_problem(response, 404)
        assert "Location" not in response.headers
    other = "t" + new_id().lower()[:16]  # another tenant's key does not make this tenant's links
    assert_problem(
        follow(sign("track", {"t": tenant, "m": message_id, "k": "click", "l": 0}, tokens.tenant_key(key, other))), 400
    )
    assert_problem(follow(tracking_token(other, message_id, "click", 0, key)), 404)  # its own: no such mail
    assert (
        follow(tracking_token(tenant, message_id, "click", 1, key)).headers["Location"] == "https://shop.example/about"
    )
    clicks = _settle(
        stack, lambda: len(envelopes(stack, tenant, "email.clicked")) >= 2 and envelopes(stack, tenant, "email.clicked")
    )
    urls = sorted(e["data"]["url"] for e in clicks)
    assert urls == ["https://shop.example/about", "https://shop.example/offer?a=1&b=2"], urls


def test_a_recipient_s_unsubscribe_counts_once_for_the_campaign(stack: LocalRuntime, tenant: str, key: bytes) -> None:
    message_id, campaign_id = _campaign_mail(stack, tenant, "leaver@example.com", {"opens": False, "clicks": False})
    token = unsubscribe_token(tenant, message_id, keys=link_keys(stack))  # the link its mail carries
    for _ in range(2):  # a mail client may POST the one-click unsubscribe twice
        posted = requests.post(
            f"{stack.api_url}/u/{token}", data="List-Unsubscribe=One-Click", headers=FORM, timeout=30
        )
        assert posted.status_code == 200, posted.text
    subscribed = requests.post(f"{stack.api_url}/u/{token}", data="action=subscribe", headers=FORM, timeout=30)
    assert "subscribed again" in subscribed.text
    again = requests.post(f"{stack.api_url}/u/{token}", data="action=unsubscribe", headers=FORM, timeout=30)
    assert "You do not receive these emails." in again.text
    assert "unsubscribed_at" in stored_message(stack, tenant, message_id)
    assert campaign_counts(stack, tenant, campaign_id).get("unsubscribed") == 1
    naming = _settle(  # the first opt-out names the mail; the one after subscribing again does not stamp it
        stack, lambda: [e for e in envelopes(stack, tenant, "email.unsubscribed") if e["data"].get("message_id")]
    )
    assert [(e["data"]["message_id"], e["data"]["campaign_id"]) for e in naming] == [(message_id, campaign_id)]
    # a legacy token (no message) still opts out, and touches no campaign
    old = legacy_unsubscribe_token(tenant, "other@example.com", "marketing", key=key)
    posted = requests.post(f"{stack.api_url}/u/{old}", data="action=unsubscribe", headers=FORM, timeout=30)
    assert posted.status_code == 200, posted.text
    # a legacy token naming another recipient's mail does not stamp that mail
    theirs, their_campaign = _campaign_mail(stack, tenant, "stays@example.com", {"opens": False, "clicks": False})
    wrong = legacy_unsubscribe_token(tenant, "intruder@example.com", "marketing", key=key, message_id=theirs)
    posted = requests.post(f"{stack.api_url}/u/{wrong}", data="action=unsubscribe", headers=FORM, timeout=30)
    assert posted.status_code == 200, posted.text
    assert "unsubscribed_at" not in stored_message(stack, tenant, theirs)
    assert campaign_counts(stack, tenant, their_campaign).get("unsubscribed") is None


def test_a_mail_without_tracking_carries_no_tracking_links(stack: LocalRuntime, tenant: str, key: bytes) -> None:
    message_id, _ = _campaign_mail(stack, tenant, "plain@example.com", {"opens": False, "clicks": False})
    assert instrument(HTML, stack.api_url, tenant, message_id, opens=False, clicks=False, keys=link_keys(stack)) == HTML
    body = _sent_mail(stack, message_id).get_body(preferencelist=("html",)).get_content()
    assert "/t/" not in body and "https://shop.example/about" in body


def test_a_campaign_mail_s_links_work_and_count_for_the_campaign(api: Api, stack: LocalRuntime) -> None:
    """The whole way: a campaign with tracking on, its mail as the recipient gets it, the pixel
    loaded, the link followed and the one-click unsubscribe of the mail's header, all counted."""
    admin = api.as_(new_tenant(), "admin-1", "admin")
    contact = admin.post("/contacts", json={"first_name": "Anna", "email": "Anna@Example.com"}).json()["id"]
    group = admin.post("/target-groups", json={"name": "News", "contact_ids": [contact]}).json()["id"]
    bad = '<a href="https://shop.example/x&#13;&#10;Set-Cookie: a=1">Bad</a><a href="javascript:alert(1)">Js</a>'
    more = bad + '<a href="https://shop.example/café?q=a b">Café</a></body>'
    template = {"name": "News", "subject": "News", "html": HTML.replace("</body>", more), "text": "News"}
    template_id = admin.post("/email/templates", json=template).json()["id"]
    body = {"name": "News", "template_id": template_id, "list_type_id": "marketing", "target_group_id": group}
    campaign = admin.post("/campaigns", json={**body, "tracking": {"opens": True, "clicks": True}}).json()
    assert admin.post(f"/campaigns/{campaign['id']}/send").status_code == 200
    message_id = derived_id(campaign["once_scope"], contact)
    mail = _settle(stack, lambda: (sent_mails(stack).get(message_id) or [None])[0])
    assert mail is not None, admin.get(f"/campaigns/{campaign['id']}").json()

    html = mail.get_body(preferencelist=("html",)).get_content()
    offer, _about, cafe, pixel = _links(html, stack.api_url)  # every public link names the local gateway
    [raw] = raw_sent(stack, message_id)  # the bytes SES got: no link there tells who received the mail
    [unsubscribe, *_] = assert_one_click_on_the_wire(raw)
    for link in (offer, _about, cafe, pixel, unsubscribe):
        assert_opaque(link.rsplit("/", 1)[1], "Anna@Example.com")
    altered = unsubscribe[:-3] + ("AAA" if not unsubscribe.endswith("AAA") else "BBB")
    assert_problem(requests.get(altered, timeout=30), 404)
    assert_problem(requests.post(altered, data="List-Unsubscribe=One-Click", headers=FORM, timeout=30), 404)
    assert bad in html  # links with a control character or another scheme stay as written, untracked
    for link in (offer, _about, cafe):  # a click token names its link's position, never its URL
        assert b"shop.example" not in unb64(link.rsplit("/", 1)[1].split(".")[0])
    to_cafe = requests.get(cafe, allow_redirects=False, timeout=30)
    assert to_cafe.headers["Location"] == "https://shop.example/caf%C3%A9?q=a%20b", to_cafe.text
    assert requests.get(pixel, timeout=30).content.startswith(b"GIF89a")
    followed = requests.get(offer, allow_redirects=False, timeout=30)
    assert followed.headers["Location"] == "https://shop.example/offer?a=1&b=2"
    unsubscribe = mail["List-Unsubscribe"].split(",")[0].strip()[1:-1]
    assert unsubscribe.startswith(f"{stack.api_url}/u/")
    assert requests.post(unsubscribe, data="List-Unsubscribe=One-Click", headers=FORM, timeout=30).status_code == 200

    def counted() -> dict[str, Any] | None:
        stats: dict[str, Any] = admin.get(f"/campaigns/{campaign['id']}").json()["stats"]
        return stats if (stats["opened"], stats["clicked"], stats["unsubscribed"]) == (1, 1, 1) else None

    assert _settle(stack, counted), admin.get(f"/campaigns/{campaign['id']}").json()["stats"]
    opted_out = admin.get("/email/list-types/marketing/opt-outs").json()["items"]
    assert [o["address"] for o in opted_out] == ["anna@example.com"]
