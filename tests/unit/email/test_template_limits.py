"""The template sandbox's limits (shared/sandbox.py): what one render may do.

Every case below is sized to be quick without the limits too (so the tests run fast on a tree
without them and fail there on what they assert, never hang): `7 ** 100000` instead of
`7 ** 30000000`, a 300,000-character string instead of 10 MB. (Without the limits even saving
`{{ 7 ** 30000000 }}` burns 25 s: Jinja2 folds the constant while the save-time check walks the
template, which the intercepted operators now prevent.)
"""

from __future__ import annotations

from typing import Any

import pytest

from services.email.domain.campaign_recipients import Member, message_data
from services.email.domain.rendering import check, render
from services.email.domain.templates import TemplateParts
from shared.errors import ValidationFailed
from shared.tags import tag_context
from shared.templating import RenderFailed

LIMIT = 250_000  # sandbox.MAX_OUTPUT_CHARS / MAX_VALUE_LENGTH, written out so a change is seen here


@pytest.fixture(autouse=True)
def _time_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the other limits: a loaded machine must not reach the deadline first
    (100,000 loop steps take about 0.03 s, the render's 0.1 s when five test runs share two cores).
    The deadline has its own test. (On a tree without the sandbox module there is nothing to patch.)"""
    try:
        from shared import sandbox
    except ImportError:
        return
    monkeypatch.setattr(sandbox, "RENDER_SECONDS", 5.0)


def _render(html: str, **record: Any) -> Any:
    return render(TemplateParts(subject="Hi", html=html), tag_context({"first_name": "Ann"}, None, record))


def _refused(html: str, **record: Any) -> str:
    """The reason a render is refused (422 naming the html part). Each reason is one the sandbox
    gives before the work is done (a size it predicts, a count it keeps): no clock is read, so a
    loaded machine cannot fail it (a 1 s bound here failed under a full suite run)."""
    with pytest.raises(RenderFailed) as exc:
        _render(html, **record)
    error = exc.value.errors[0]
    assert (error.field, error.code) == ("html", "render_limit"), exc.value.errors
    return error.message


@pytest.mark.parametrize(
    ("html", "record", "named"),
    [
        ("{{ (7 ** record.n) > 1 }}", {"n": 100_000}, "'**' would make a number of 280,735 bits"),
        ("{{ record.n * record.n * record.n }}", {"n": 10**1500}, "'*' would make a number"),
        ("{{ 'x' * record.n }}", {"n": 300_000}, "'*' would make a value of 300,000 characters"),
        ("{{ ['x'] * record.n }}", {"n": 300_000}, "'*' would make a value"),
        ("{{ (record.s + record.s)|length }}", {"s": "x" * 200_000}, "'+' would make a value of 400,000"),
        ("{% for i in range(record.n) %}{% endfor %}", {"n": 200_000}, "range() would have 200,000 items"),
        ("{{ 'x'|center(record.n) }}", {"n": 300_000}, "the 'center' filter would make a value"),
        ("{{ 'x'.ljust(record.n) }}", {"n": 300_000}, "'ljust()' would make a value"),
        ("{{ record.s|replace('', 'yy') }}", {"s": "x" * 100_000}, "the 'replace' filter would make"),
        ("{{ record.s.translate({120: 'y' * 1000}) }}", {"s": "x" * 1000}, "'translate()' would make a value"),
        ("{{ 'x'.encode().ljust(record.n) }}", {"n": 300_000}, "'ljust()' would make a value"),
        ("{{ record.f % 1 }}", {"f": "%300000d"}, "'%' uses a width of 300000"),
        ("{{ record.f.format(1) }}", {"f": "{:>300000}"}, "'format()' uses a width of 300000"),
        ("{{ record.f|format(1) }}", {"f": "%300000d"}, "the 'format' filter uses a width"),
        (  # doubling a string in a loop, 2 ** 19 characters
            "{% set ns = namespace(s='x') %}{% for i in range(19) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
            {},
            "'~' would make a value of 262,144 characters",
        ),
        (
            "{% for a in range(400) %}{% for b in range(400) %}{% endfor %}{% endfor %}",
            {},
            "the loops ran more than 100,000 times",
        ),
        (  # 2,000 x 200 characters written inside a macro, then only its length shown
            "{% macro m() %}{% for i in range(2000) %}{{ record.s }}{{ record.s }}{% endfor %}{% endmacro %}"
            "{{ m()|length }}",
            {"s": "x" * 300},
            "the template wrote more than 1,000,000 characters",
        ),
    ],
)
def test_work_over_a_limit_is_refused_before_it_is_done(html: str, record: dict[str, Any], named: str) -> None:
    assert named in _refused(html, **record)


def test_the_output_of_a_render_is_counted_while_it_is_made_and_stopped_at_the_limit() -> None:
    loop = "{% for i in range(record.n) %}" + "x" * 100 + "{% endfor %}"
    assert len(_render(loop, n=LIMIT // 100 - 1).html) == LIMIT - 100  # just under: as before
    assert "would be longer than 250,000 characters" in _refused(loop, n=LIMIT // 100 + 1)
    # the parts share it: a subject and a text cannot each take the whole budget
    parts = TemplateParts(subject="{{ 'x' * 200000 }}", html="<p>ok</p>", text="{{ 'y' * 60000 }}")
    with pytest.raises(RenderFailed) as exc:
        render(parts, tag_context({}, None, None))
    assert [e.field for e in exc.value.errors] == ["text"]


def test_a_render_has_a_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A macro calling itself twice over 14 levels: 32,767 calls, within every other limit."""
    monkeypatch.setattr("shared.sandbox.RENDER_SECONDS", 0.01)
    html = "{% macro f(s) %}{% if s %}{{ f(s[1:]) }}{{ f(s[1:]) }}{% endif %}{% endmacro %}{{ f(record.s) }}"
    assert "rendering took longer than 0.01 s" in _refused(html, s="x" * 14)


def test_a_template_error_at_render_time_is_a_422_naming_the_part_never_a_500() -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("{{ 1 / record.n }}", {"n": 0}),
        ("{{ record.s.index('z') }}", {"s": "abc"}),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", {}),
    ]
    for html, record in cases:
        with pytest.raises(RenderFailed) as exc:
            _render(html, **record)
        assert [e.field for e in exc.value.errors] == ["html"]


@pytest.mark.parametrize(
    ("source", "named"),
    [
        ("{{ (7 ** 300000) > 1 }}", "Line 1: '**' would make a number of 842,206 bits (the limit is 4,096)."),
        ("<p>\n{{ 'x' * 1000000 }}", "Line 2: '*' would make a value of 1,000,000 characters"),
        ("{% for i in range(10**9) %}{{ i }}{% endfor %}", "Line 1: range() would have 1,000,000,000 items"),
        ("{{ 'x'|center(10**7) }}", "Line 1: the 'center' filter would make a value of 10,000,000"),
        ("{{ '%9999999d' % 1 }}", "Line 1: '%' uses a width of 9999999"),
        ("{{ '{:>9999999}'.format(1) }}", "Line 1: 'format()' uses a width of 9999999"),
    ],
)
def test_limits_seen_in_literals_are_refused_at_save_naming_the_part_and_construct(source: str, named: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        check({"subject": "Hi", "html": "<p>ok</p>", "text": source})
    assert [(e.field, e.code) for e in exc.value.errors] == [("text", "invalid_template")]
    assert named in exc.value.errors[0].message
    # within the limits, or sized by the data (then refused at render time): saved
    check({"subject": "{{ '-' * 40 }} {{ 2 ** 10 }}", "html": "{% for i in range(10) %}{{ i }}{% endfor %}"})
    check({"subject": "Hi", "html": "{{ contact.first_name|center(10000000) }}"})


def test_a_campaign_member_whose_render_is_over_a_limit_fails_alone_with_the_reason() -> None:
    template = TemplateParts(subject="Hi", html="<p>{{ contact.first_name * 100000 }}</p>")
    campaign: dict[str, Any] = {"list_type_id": "news", "tracking": {"opens": False, "clicks": False}}

    def staged(first_name: str) -> dict[str, Any]:
        context = tag_context({"id": "c", "email": "a@example.com", "first_name": first_name}, None, None)
        member = Member(contact_id="c", fields={})
        return message_data("k1", campaign, "m1", member, context, template, (set(), set()))

    failed = staged("Annabel")  # 700,000 characters
    assert failed["status"] == "failed"
    assert failed["error"] == (
        "The html cannot be rendered: '*' would make a value of 700,000 characters (the limit is 250,000)."
    )
    assert "html" not in failed
    assert staged("")["status"] == "queued"  # the next member goes


def test_a_template_nested_thousands_deep_is_a_422_at_save_and_at_render_never_a_500() -> None:
    deep = "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}"
    with pytest.raises(ValidationFailed) as exc:
        check({"subject": "Hi", "html": deep})
    assert [(e.field, e.message) for e in exc.value.errors] == [("html", "The template nests too deeply.")]
    with pytest.raises(RenderFailed) as failed:
        render(TemplateParts(subject="Hi", html=deep), tag_context({}, None, None))
    assert [e.field for e in failed.value.errors] == ["html"]
