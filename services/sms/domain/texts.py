"""An SMS text's tags [issue 19 item 3]: texts carry tags as email templates do, checked and
filled by the one template engine (`shared/templating.py`, its bounded sandbox; no autoescaping:
an SMS is not HTML).

A tag names `contact`, `account` or `owner` fields (`shared/tags.py`); an SMS has no `record`
data (a `record` tag is unknown here). A syntax error, an unknown tag, a `_` name or work over the
sandbox's limits written with literals is a 422 `invalid_template` naming `text`. A text without
`{{`, `{%` or `{#` is sent as written and loads no Jinja2 (the engine is imported where a text
with tags is checked or filled).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FIELD = "text"
ROOTS = ("contact", "account", "owner")  # an SMS carries no `record` data
MARKERS = ("{{", "{%", "{#")


def has_tags(text: str) -> bool:
    """Whether the text holds a tag, block or comment for the engine (else it renders as written)."""
    return any(marker in text for marker in MARKERS)


def check(text: str) -> None:
    """422 `invalid_template` naming `text` when its tags cannot be filled."""
    if has_tags(text):
        from shared import templating  # Jinja2: loaded where a text with tags is checked

        templating.check({FIELD: text}, roots=ROOTS, title="The text's tags cannot be filled.")


def fill(text: str, context: Mapping[str, Any]) -> str:
    """The text with its tags filled for one contact's tag context (`shared.tags.tag_context`),
    whitespace at either end dropped (as the API drops it from a text).

    Raises `shared.templating.RenderFailed` (naming `text`) when the render goes over one of the
    sandbox's limits, reads what the context lacks (`record.*`) or leaves nothing to send.
    """
    if not has_tags(text):
        return text
    from shared import templating  # Jinja2: loaded where a text with tags is filled

    filled = templating.render({FIELD: text}, context, what="the text")[FIELD].strip()
    if not filled:
        raise templating.RenderFailed.on(FIELD, "The text is empty once its tags are filled.", "render_failed")
    return filled
