"""Tags in SMS texts through `kontakt dev` (issue 19 item 3: "texts carry tags as email templates
do", item 2: the preview "after tags are filled for a sample contact"): one template engine for
email and SMS (shared/templating.py); the parts and credits of a message are those of its text
with the tags filled for its contact."""

from __future__ import annotations

from typing import Any

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, created, drain, settle, walk
from tests.e2e.sms.test_sms_messages import provider_sent, ready, status_of

TAGGED = "Hei {{ contact.first_name }}! {{ account.name }} kiittää."


def aino(admin: Api, stack: LocalRuntime, **fields: Any) -> str:
    """A contact of an account, once the SMS service has heard of both."""
    account = created(admin.post("/accounts", json={"name": "Kukka Oy"}))["id"]
    body = {"first_name": "Aino", "mobile": "040 123 4567", "account_id": account, **fields}
    contact_id = str(created(admin.post("/contacts", json=body))["id"])
    drain(stack, busy_ok=True)
    return contact_id


def send(api: Api, contact_id: str, text: str) -> Any:
    return api.post("/sms/messages", json={"contact_id": contact_id, "number_field": "mobile", "text": text})


def test_a_message_is_sent_with_its_tags_filled_and_costs_the_parts_of_the_filled_text(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    ready(admin, 10)
    contact_id = aino(admin, stack)
    answer = settle(stack, lambda: (r := send(admin, contact_id, TAGGED)).status_code == 201 and r)
    assert answer, "the SMS service never heard of the contact"
    message = answer.json()
    assert (message["text"], message["status"], message["parts"]) == ("Hei Aino! Kukka Oy kiittää.", "queued", 1)
    # 174 characters as written (two parts), 155 once filled: one part, one credit
    long = send(admin, contact_id, "{{ contact.first_name }}" + "x" * 150).json()
    assert (long["text"], long["parts"], long["credits"]) == ("Aino" + "x" * 150, 1, 1)
    assert admin.get("/sms/balance").json()["available"] == 8
    assert settle(stack, lambda: status_of(admin, long["id"]) in ("sent", "delivered"))  # then its receipt
    drain(stack, busy_ok=True)
    assert {message["id"], long["id"]} <= set(provider_sent(stack, tenant))


def test_an_unknown_tag_or_a_syntax_error_is_a_422_naming_text_and_reserves_nothing(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    ready(admin, 10)
    contact_id = aino(admin, stack)
    known = {"text": "x", "contact_id": contact_id}
    assert settle(stack, lambda: admin.post("/sms/preview", json=known).status_code == 200), "never heard of it"
    for text in (
        "Hei {{ contact.shoe_size }}",  # an unknown field
        "Hei {{ user.name }}",  # an unknown tag
        "Tilaus {{ record.order }}",  # an SMS carries no record data
        "Hei {{ contact.first_name }",  # a syntax error
        "{{ contact.__class__ }}",  # the sandbox's refusal
        "{% for i in range(10**9) %}x{% endfor %}",  # over a limit, written with literals
    ):
        body = assert_problem(send(admin, contact_id, text), 422, "text")
        assert {(e["field"], e["code"]) for e in body["errors"]} == {("text", "invalid_template")}, (text, body)
        assert_problem(admin.post("/sms/preview", json={"text": text}), 422, "text")
    assert admin.get("/sms/balance").json() == {"available": 10, "reserved": 0, "charged": 0}
    assert walk(admin, "/sms/messages") == []


def test_a_text_whose_fill_goes_over_the_sandbox_limits_fails_that_message_with_the_reason(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    ready(admin, 10)
    contact_id = aino(admin, stack)
    text = "{{ contact.first_name * 100000 }}"  # 400,000 characters: sized by the data, seen only when filled
    answer = settle(stack, lambda: (r := send(admin, contact_id, text)).status_code == 201 and r)
    assert answer, "the SMS service never heard of the contact"
    failed = answer.json()
    assert (failed["status"], failed["credits"]) == ("failed", 0)
    assert failed["reason"] == (
        "The text cannot be rendered: '*' would make a value of 400,000 characters (the limit is 250,000)."
    )
    assert admin.get(f"/sms/messages/{failed['id']}").json()["status"] == "failed"
    assert admin.get("/sms/balance").json() == {"available": 10, "reserved": 0, "charged": 0}
    assert failed["id"] not in provider_sent(stack, tenant)


def test_the_preview_fills_the_tags_for_a_contact_or_a_sample_contact(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    ready(admin, 0)
    contact_id = aino(admin, stack, first_name="Łucja")  # Ł is outside GSM-7
    sample = admin.post("/sms/preview", json={"text": TAGGED})
    assert sample.status_code == 200, sample.text
    assert (sample.json()["text"], sample.json()["encoding"]) == ("Hei Maija! Esimerkki Oy kiittää.", "GSM-7")

    def previewed() -> Any:
        answer = admin.post("/sms/preview", json={"text": TAGGED, "contact_id": contact_id})
        return answer.status_code == 200 and answer.json()

    filled = settle(stack, previewed)
    assert filled, "the SMS service never heard of the contact"
    assert (filled["text"], filled["encoding"], filled["characters"], filled["parts"], filled["credits"]) == (
        "Hei Łucja! Kukka Oy kiittää.",
        "UCS-2",
        28,
        1,
        1,
    )
    user = admin.as_(tenant, "user-1", "user")  # the contact is the admin's: the user may not see it
    assert_problem(user.post("/sms/preview", json={"text": TAGGED, "contact_id": contact_id}), 422, "contact_id")
    unknown = {"text": TAGGED, "contact_id": "01JUNKNOWN0000000000000000"}
    assert_problem(admin.post("/sms/preview", json=unknown), 422, "contact_id")
