"""The one template engine (shared/templating.py) as SMS uses it (services/sms/domain/texts.py):
fields named by the caller, autoescaping only where asked, the tag roots a service allows, and the
tag context of a projection row or of the sample contact (shared/tags.py)."""

from __future__ import annotations

import pytest

from services.sms.domain import texts
from shared import templating
from shared.errors import ValidationFailed
from shared.tags import row_context, sample_context


def test_errors_name_the_callers_field_and_only_marked_fields_are_escaped() -> None:
    context = row_context("c1", {"contact": {"first_name": "<b>Ann</b>"}, "account": {"name": "A & B"}})
    out = templating.render({"body": "{{ contact.first_name }}", "page": "{{ account.name }}"}, context, html=["page"])
    assert out == {"body": "<b>Ann</b>", "page": "A &amp; B"}
    assert context["contact"]["id"] == "c1"
    with pytest.raises(templating.RenderFailed) as failed:
        templating.render({"body": "{{ record.total }}"}, context)
    assert [(e.field, e.code) for e in failed.value.errors] == [("body", "render_failed")]


def test_a_service_may_allow_fewer_tag_roots() -> None:
    assert templating.problems("{{ record.total }}") == []
    assert templating.problems("{{ record.total }}", roots=texts.ROOTS) == [
        "Unknown tag 'record': use contact, account or owner."
    ]
    with pytest.raises(ValidationFailed) as refused:
        texts.check("Tilaus {{ record.order }}")
    assert [(e.field, e.code) for e in refused.value.errors] == [("text", "invalid_template")]


def test_the_sample_contact_fills_every_contact_and_account_tag_a_preview_shows() -> None:
    filled = texts.fill("{{ contact.first_name }} {{ contact.last_name }}, {{ account.name }}", sample_context())
    assert filled == "Maija Mallikas, Esimerkki Oy"
    assert texts.fill("No tags { here }", sample_context()) == "No tags { here }"
    with pytest.raises(templating.RenderFailed) as empty:
        texts.fill("{{ contact.sales_status }}", sample_context())  # nothing left to send
    assert [e.field for e in empty.value.errors] == ["text"]
