"""(g) Template rendering: mails rendered per second for a template with 20 tags, in-process.

The template has a subject, an HTML part and a plain-text part whose 20 tags (and one `if`) read contact,
account and owner fields; every mail gets its own context in the shape the sender builds
(`shared.tags.tag_context` over a recipients row, as `recipients.context_for` does).
`rendering.render` (`domain/rendering.py`, the engine of `shared/templating.py`) compiles each part once and
keeps it (an lru_cache keyed by the source), so
the figure that matters is the warm rate; the cold rate (cache cleared before every mail) shows
what compiling per mail would cost. Figures are medians of RUNS runs of MAILS mails
(KONTAKT_PERF_RENDER_MAILS, default 2,000). No I/O: this measures Jinja2 and the sandbox.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from .conftest import FIGURES, OWNERS, median, render, stopwatch

pytestmark = pytest.mark.perf

MAILS = int(os.environ.get("KONTAKT_PERF_RENDER_MAILS", "2000"))
COLD_MAILS = max(50, MAILS // 20)  # compiling per mail is slow: fewer mails for the same precision
RUNS = 5

SUBJECT = "{{ contact.first_name }}, news for {{ account.name }} in {{ account.city }}"
HTML = """<html><body>
<p>Hello {{ contact.first_name }} {{ contact.last_name }},</p>
<p>As {{ contact.job_title }} at {{ account.name }} ({{ account.business_id }}),
you are on our list at {{ contact.email }}.</p>
<table>
  <tr><td>Customer number</td><td>{{ account.number }}</td></tr>
  <tr><td>Address</td><td>{{ account.street }}, {{ account.postal_code }} {{ account.city }}</td></tr>
  <tr><td>Your contact</td><td>{{ owner.id }}</td></tr>
</table>
{% if contact.region == "north" %}<p>See you at the northern event.</p>{% endif %}
</body></html>"""
TEXT = """Hello {{ contact.first_name }} {{ contact.last_name }},
Mobile on file: {{ contact.mobile }}. Your account {{ account.name }} ({{ account.website }}).
Your contact at Kontakt: {{ owner.id }}."""
TAGS = len(re.findall(r"\{\{", SUBJECT + HTML + TEXT))  # plus one {% if %} on a contact field


def _context(n: int) -> dict[str, Any]:
    """A recipients row (contact with its account) as `context_for` turns it into tags."""
    from shared.tags import tag_context

    now = datetime.now(UTC).isoformat()
    owner = {"type": "user", "id": OWNERS[n % len(OWNERS)]}
    contact = {
        "id": f"contact-{n}",
        "number": f"CON-{1001 + n}",
        "first_name": f"Aino{n}",
        "last_name": f"Virtanen <{n}>",  # escaped in the HTML part, kept in the text part
        "email": f"aino{n}@perf.example",
        "mobile": f"+35840{n:07d}",
        "account_id": f"account-{n % 500}",
        "department": "Purchasing",
        "job_title": ("ceo", "manager", "sales", "specialist")[n % 4],
        "region": "north" if n % 10 == 0 else "south",
        "groups": ["newsletter"],
        "owner": owner,
        "created_at": now,
        "updated_at": now,
    }
    account = {
        "id": f"account-{n % 500}",
        "number": f"ACC-{n % 500}",
        "name": f"Oy Perf {n % 500} Ab",
        "status": "customer",
        "business_id": f"{1000000 + n % 500}-1",
        "phone": "+3589123456",
        "website": "https://perf.example",
        "street": "Mannerheimintie 1",
        "postal_code": "00100",
        "city": "Helsinki",
        "country": "FI",
        "owner": owner,
    }
    return tag_context(contact, account, None)


def _rate(parts: Any, contexts: list[dict[str, Any]], cold: bool) -> float:
    from services.email.domain import rendering
    from shared import templating

    rates = []
    for _ in range(RUNS):
        with stopwatch() as elapsed:
            for context in contexts:
                if cold:
                    templating._compiled.cache_clear()
                rendering.render(parts, context)
        rates.append(len(contexts) / elapsed())
    return median(rates)


def test_template_rendering_rate() -> None:
    from services.email.domain import rendering
    from services.email.domain.templates import TemplateParts
    from shared import templating

    rendering.check({"subject": SUBJECT, "html": HTML, "text": TEXT})  # the template could be saved
    assert TAGS == 20
    parts = TemplateParts(subject=SUBJECT, html=HTML, text=TEXT)
    contexts = [_context(n) for n in range(MAILS)]

    first = rendering.render(parts, contexts[0])  # correctness: every tag filled, HTML escaped
    assert first.subject == "Aino0, news for Oy Perf 0 Ab in Helsinki"
    assert "Virtanen &lt;0&gt;" in first.html and "Virtanen <0>" in first.text
    assert "northern event" in first.html and "{{" not in first.html + first.text + first.subject
    assert len({rendering.render(parts, c).html for c in contexts[:100]}) == 100  # one mail per context

    templating._compiled.cache_clear()
    with stopwatch() as elapsed:
        rendering.render(parts, contexts[0])
    first_mail_ms = elapsed() * 1000
    warm = _rate(parts, contexts, cold=False)
    cold = _rate(parts, contexts[:COLD_MAILS], cold=True)
    compile_ms = (1 / cold - 1 / warm) * 1000
    size = len(first.subject) + len(first.html) + len(first.text)
    print(
        render(
            f"(g) templates.render, {TAGS} tags in subject/HTML/text, {MAILS:,} contexts, median of {RUNS} runs",
            [
                ("mails rendered, compiled once (cached)", f"{warm:,.0f}", "mails/s"),
                ("mails rendered, compiled per mail", f"{cold:,.0f}", "mails/s"),
                ("compiling the 3 parts", f"{compile_ms:.2f}", "ms"),
                ("rendering one mail (cached)", f"{1000 / warm:.3f}", "ms"),
                ("first mail (compile + render)", f"{first_mail_ms:.2f}", "ms"),
                ("rendered size", f"{size:,}", "bytes"),
            ],
            header=("figure", "value", "unit"),
        )
    )
    FIGURES.add("g. template rendering", f"mails/s, {TAGS} tags, compiled once", round(warm), "mails/s")
    FIGURES.add("g. template rendering", f"mails/s, {TAGS} tags, compiled per mail", round(cold), "mails/s")
    FIGURES.add("g. template rendering", "compiling subject+HTML+text", round(compile_ms, 2), "ms")
