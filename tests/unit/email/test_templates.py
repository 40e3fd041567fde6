"""Template rules: the sandbox, escaping, unknown tags and syntax errors, found at save time."""

from __future__ import annotations

import pytest

from services.email.domain.recipients import account_with, carrying, contact_with
from services.email.domain.rendering import check, problems, render
from services.email.domain.templates import TemplateParts
from shared.errors import ValidationFailed
from shared.tags import tag_context
from shared.templating import RenderFailed


def fields(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [e.field for e in exc.value.errors]


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ contact.__class__ }}",
        "{{ contact['__class__'] }}",
        "{{ record|attr('__class__') }}",
        "{{ cycler.__init__.__globals__ }}",
        "{% include '/etc/passwd' %}",
    ],
)
def test_sandbox_escapes_are_refused_at_save(source: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        check({"subject": "Hi", "html": source})
    assert set(fields(exc)) == {"html"}


def test_no_file_can_be_read_even_when_a_check_is_skipped() -> None:
    with pytest.raises(RenderFailed):
        render(TemplateParts(subject="x", html="{% include '/etc/passwd' %}"), tag_context({}, None, None))


def test_html_is_escaped_in_the_html_part_only() -> None:
    context = tag_context({"first_name": "<b>Ann</b> & co"}, {"name": "Acme"}, None)
    parts = TemplateParts(
        subject="Hi {{ contact.first_name }}", html="<p>{{ contact.first_name }}</p>", text="{{ contact.first_name }}"
    )
    rendered = render(parts, context)
    assert rendered.html == "<p>&lt;b&gt;Ann&lt;/b&gt; &amp; co</p>"
    assert rendered.text == "<b>Ann</b> & co"
    assert rendered.subject == "Hi <b>Ann</b> & co"


def test_a_line_break_in_a_field_cannot_add_a_header() -> None:
    rendered = render(
        TemplateParts(subject="Hi {{ contact.first_name }}", html="x"),
        tag_context({"first_name": "A\r\nBcc: x@y"}, None, None),
    )
    assert "\n" not in rendered.subject and "\r" not in rendered.subject


def test_unknown_fields_are_named_per_part() -> None:
    with pytest.raises(ValidationFailed) as exc:
        check(
            {
                "subject": "{{ contact.shoe_size }}",
                "html": "{{ account.nope }}",
                "text": "{{ owner.name }} {{ user.id }}",
            }
        )
    assert fields(exc) == ["subject", "html", "text", "text"]


def test_known_tags_and_free_record_fields_pass() -> None:
    source = (
        "{{ contact.first_name }} {{ contact['email'] }} {{ account.name }} {{ owner.id }} {{ record.ticket.subject }}"
    )
    assert problems("html", source + "{% for g in contact.groups %}{{ g }}{% endfor %}") == []


def test_syntax_errors_are_422() -> None:
    with pytest.raises(ValidationFailed) as exc:
        check({"subject": "ok", "html": "ok", "text": "{% if contact.first_name %}"})
    assert fields(exc) == ["text"]


def test_empty_fields_render_as_nothing_and_a_missing_record_field_names_the_part() -> None:
    parts = TemplateParts(subject="{{ contact.last_name }}!", html="{{ account.city }}|", text="{{ record.total }}")
    with pytest.raises(RenderFailed) as exc:
        render(parts, tag_context({}, None, {}))
    assert fields(exc) == ["text"]  # type: ignore[arg-type]
    assert render(parts, tag_context({}, None, {"total": 5})) == render(parts, tag_context({}, None, {"total": 5}))
    assert render(parts, tag_context({}, None, {"total": 5})).model_dump() == {"subject": "!", "html": "|", "text": "5"}


def test_projection_versions_guard_against_late_and_repeated_events() -> None:
    row = contact_with(None, {"id": "c", "first_name": "A", "account_id": "a", "version": 2, "erased": False})
    assert row is not None and row["contact"] == {"id": "c", "first_name": "A", "account_id": "a"}
    assert contact_with(row, {"id": "c", "first_name": "Old", "version": 1}) is None
    assert contact_with(row, {"id": "c", "first_name": "A", "version": 2}) is None
    assert contact_with({"gone": "erased"}, {"id": "c", "version": 9}) is None
    account = account_with(None, {"id": "a", "name": "Acme", "version": 3})
    assert account is not None
    carried = carrying(row, account)
    assert carried["account"] == {"id": "a", "name": "Acme"} and carried["account_version"] == 3
    assert carrying(carried, {"record": {"name": "Older"}, "version": 2}) == carried
    assert "account" not in carrying(carried, {"gone": "deleted"})
