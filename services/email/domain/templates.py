"""Email templates: their models, the check made at save time and the sandboxed rendering.

The check and the rendering are the one template engine's (`shared/templating.py`, which email
and SMS share), through `domain/rendering.py`, which its callers import where they check or
render: Jinja2 and the sandbox cost ~25-40 ms of a cold start, and most functions that know
templates never render one (docs/decisions.md, "Cold start").

A template has a subject, an HTML part and a plain-text part written in Jinja2. Tags read four
names (`shared/tags.py`): `contact`, `account` (the contact's account), `owner` (the contact's
owner) and `record` (the data a service sends with a transactional mail, free-form). Rendering
runs in Jinja2's immutable sandbox with no loader, so a template reaches neither Python internals
nor files; the HTML part is autoescaped, the subject and text parts are not (they are not HTML).

A tag naming an unknown contact/account/owner field, a syntax error, an attribute that the
sandbox would refuse (`_`-names) or work over the sandbox's limits written with literals
(`7 ** 30000000`, `range(10**9)`) is a 422 naming the part when the template is saved.

The sandbox bounds the work of one render (operators, `range`, loops, output size, time):
`shared/sandbox.py` holds every limit. A render over one fails with a 422 naming the part (a
preview) or fails that recipient with the reason (the senders), never the others.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.types import INPUT, MAIL_SUBJECT_MAX, OUTPUT, Name200, OneLine, reject_null

Part = Literal["subject", "html", "text"]
PARTS: tuple[Part, ...] = ("subject", "html", "text")

Subject = Annotated[str, Field(min_length=1, max_length=MAIL_SUBJECT_MAX), OneLine]  # the Subject header: one line
Html = Annotated[str, Field(min_length=1, max_length=500_000)]
Text = Annotated[str, Field(max_length=200_000)]


class TemplateParts(BaseModel):
    """What `render` needs of a template."""

    subject: str
    html: str
    text: str = ""


class TemplateCreate(BaseModel):
    """`subject`, `html` and `text` are Jinja templates rendered in a bounded sandbox: their syntax,
    no name or attribute starting with `_`, and work visible without rendering (huge powers,
    repeats, ranges, paddings) are checked when saved (422 `invalid_template` naming the part);
    what only a render shows fails the preview or that recipient's mail (`render_failed`,
    `render_limit`)."""

    model_config = INPUT

    name: Name200
    subject: Subject
    html: Html
    text: Text = ""


class TemplateUpdate(BaseModel):
    """`subject`, `html` and `text` are Jinja templates rendered in a bounded sandbox: their syntax,
    no name or attribute starting with `_`, and work visible without rendering (huge powers,
    repeats, ranges, paddings) are checked when saved (422 `invalid_template` naming the part);
    what only a render shows fails the preview or that recipient's mail (`render_failed`,
    `render_limit`)."""

    model_config = INPUT

    name: Name200 | None = None
    subject: Subject | None = None
    html: Html | None = None
    text: Text | None = Field(None, description="null clears it")

    # a template always has these: left out they stay, null is refused (so the schema has no null)
    _not_null = field_validator("name", "subject", "html")(reject_null)


class Template(TemplateParts):
    model_config = OUTPUT

    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    created_by: str | None = None
    version: int = 1


class TemplateSummary(BaseModel):
    """A template in a list: without its parts' bodies (up to 700 KB each); `GET /email/templates/{id}` has them."""

    model_config = OUTPUT

    id: str
    name: str
    subject: str
    created_at: datetime
    updated_at: datetime
    created_by: str | None = None
    version: int = 1


class PreviewRequest(BaseModel):
    model_config = INPUT

    contact_id: Annotated[str, Field(pattern=r"^[0-9A-Za-z_-]{1,64}$")]
    record: dict[str, Any] = Field(default_factory=dict, description="Sample data for `record.*` tags")


class Rendered(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str
    html: str
    text: str
