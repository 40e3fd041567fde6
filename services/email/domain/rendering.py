"""A template's parts checked and rendered by the one template engine (`shared/templating.py`).

The HTML part is autoescaped, the subject and text parts are not; a rendered subject is one
header line. Imported where a template is checked or rendered (inside the functions that do):
the engine loads Jinja2, a cold start's cost only where templates are checked or rendered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.email.domain.templates import PARTS, Part, Rendered, TemplateParts
from shared import templating

HTML: tuple[Part, ...] = ("html",)


def problems(part: Part, source: str) -> list[str]:
    """What is wrong with one part's source (empty when it may be saved)."""
    return templating.problems(source, html=part in HTML)


def check(parts: Mapping[str, str]) -> None:
    """422 naming each part that cannot be saved."""
    templating.check({part: parts[part] for part in PARTS if part in parts}, html=HTML)


def render(template: TemplateParts, context: Mapping[str, Any]) -> Rendered:
    """Render the three parts with a context from `context_for` (pure; no I/O).

    Raises `RenderFailed` (422 naming the part) when a part reads something the context lacks
    (a `record.*` field the request did not send), the sandbox refuses an operation, or the
    render goes over one of the sandbox's limits (`shared/sandbox.py`): the three parts share one
    budget of time, loop steps and output.
    """
    out = templating.render({part: getattr(template, part) for part in PARTS}, context, html=HTML, what="the mail")
    # A subject is one header line: a field holding a line break must not add headers.
    out["subject"] = " ".join(out["subject"].split())
    return Rendered(**out)
