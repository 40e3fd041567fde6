"""Email templates: their models, the check made at save time and the sandboxed rendering.

A template has a subject, an HTML part and a plain-text part written in Jinja2. Tags read four
names: `contact`, `account` (the contact's account), `owner` (the contact's owner) and `record`
(the data a service sends with a transactional mail, free-form). Rendering runs in Jinja2's
immutable sandbox with no loader, so a template reaches neither Python internals nor files;
the HTML part is autoescaped, the subject and text parts are not (they are not HTML).

A tag naming an unknown contact/account/owner field, a syntax error, an attribute that the
sandbox would refuse (`_`-names) or work over the sandbox's limits written with literals
(`7 ** 30000000`, `range(10**9)`) is a 422 naming the part when the template is saved.

The sandbox bounds the work of one render (operators, `range`, loops, output size, time):
`domain.sandbox` holds every limit. A render over one fails with a 422 naming the part (a
preview) or fails that recipient with the reason (the senders), never the others.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.email.domain import sandbox
from services.email.domain.sandbox import BoundedSandbox, RenderLimit
from shared.errors import FieldError, ValidationFailed
from shared.types import INPUT, MAIL_SUBJECT_MAX, OUTPUT, Name200, OneLine, reject_null

Part = Literal["subject", "html", "text"]
PARTS: tuple[Part, ...] = ("subject", "html", "text")

# The fields a tag may name: the directory's Contact / Account as its API and events show them
# (services/directory/domain/models.py), kept here as plain lists so the email service need not
# import the directory. `owner` is the contact's owner.
CONTACT_FIELDS = frozenset(
    {
        "id", "number", "first_name", "last_name", "email", "phone", "mobile", "account_id", "active",
        "consent_date", "department", "job_title", "category", "region", "groups", "benefit_status",
        "account_manager_id", "sales_status", "owner", "classes", "created_at", "updated_at",
    }
)  # fmt: skip
ACCOUNT_FIELDS = frozenset(
    {
        "id", "number", "name", "status", "business_id", "email", "phone", "website", "street",
        "postal_code", "city", "country", "account_manager_id", "owner", "classes", "created_at", "updated_at",
    }
)  # fmt: skip
OWNER_FIELDS = frozenset({"id", "type"})
KNOWN: dict[str, frozenset[str]] = {"contact": CONTACT_FIELDS, "account": ACCOUNT_FIELDS, "owner": OWNER_FIELDS}
ROOTS = frozenset({*KNOWN, "record"})

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


class RenderFailed(ValidationFailed):
    """A part could not be rendered with this context (e.g. a `record.*` field the data lacks)."""


def _finalize(value: Any) -> Any:
    return "" if value is None else value  # an empty field prints nothing, not "None"


_HTML = BoundedSandbox(autoescape=True, undefined=StrictUndefined, finalize=_finalize)
_PLAIN = BoundedSandbox(autoescape=False, undefined=StrictUndefined, finalize=_finalize)


def _env(part: Part) -> BoundedSandbox:
    return _HTML if part == "html" else _PLAIN


def problems(part: Part, source: str) -> list[str]:
    """What is wrong with one part's source (empty when it may be saved)."""
    try:
        return _problems(part, source)
    except RecursionError:  # `{{ ((((...` thousands deep: Jinja2's parser and code generator recurse
        return ["The template nests too deeply."]


def _problems(part: Part, source: str) -> list[str]:
    try:
        tree = _env(part).parse(source)
    except TemplateSyntaxError as exc:
        return [f"Syntax error on line {exc.lineno}: {exc.message}"]
    found = [f"Unknown tag '{name}': use contact, account, owner or record." for name in _unknown_roots(tree)]
    for root, name in _root_fields(tree):
        if name.startswith("_"):
            found.append(f"'{root}.{name}' is not allowed.")
        elif root in KNOWN and name not in KNOWN[root]:
            found.append(f"Unknown field '{root}.{name}'.")
    found += [f"'{name}' is not allowed." for name in _private_names(tree)]
    if any(tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends))):
        found.append("A template cannot include, import or extend other templates.")
    found += sandbox.static_problems(tree)
    return list(dict.fromkeys(found))


def check(parts: Mapping[str, str]) -> None:
    """422 naming each part that cannot be saved."""
    errors = [
        FieldError(field=part, message=message, code="invalid_template")
        for part in PARTS
        if part in parts
        for message in problems(part, parts[part])
    ]
    if errors:
        raise ValidationFailed("The template cannot be saved.", errors)


def _unknown_roots(tree: nodes.Template) -> list[str]:
    return sorted(meta.find_undeclared_variables(tree) - ROOTS)


def _root_fields(tree: nodes.Template) -> Iterator[tuple[str, str]]:
    """(root, field) of each `root.field` / `root['field']` on one of the tag roots."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = getattr(node, "node", None)
        if not isinstance(target, nodes.Name) or target.name not in ROOTS:
            continue
        if isinstance(node, nodes.Getattr):
            yield target.name, node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            yield target.name, node.arg.value


def _private_names(tree: nodes.Template) -> Iterator[str]:
    """`_`-names anywhere (`''.__class__`, `x['__dict__']`, `x|attr('__class__')`): refused at save."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Name)):
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            yield node.attr
        elif isinstance(node, nodes.Getitem) and _private_const(node.arg):
            yield str(node.arg.value)  # type: ignore[attr-defined]
        elif isinstance(node, nodes.Filter) and node.name == "attr" and any(_private_const(a) for a in node.args):
            yield "attr"
        elif isinstance(node, nodes.Name) and node.name.startswith("_"):
            yield node.name


def _private_const(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Const) and isinstance(node.value, str) and node.value.startswith("_")


@lru_cache(maxsize=512)
def _compiled(part: Part, source: str) -> Any:
    env = _env(part)
    return env.from_string(env.bounded_parse(source))


def render(template: TemplateParts, context: Mapping[str, Any]) -> Rendered:
    """Render the three parts with a context from `context_for` (pure; no I/O).

    Raises `RenderFailed` (422 naming the part) when a part reads something the context lacks
    (a `record.*` field the request did not send), the sandbox refuses an operation, or the
    render goes over one of the sandbox's limits (`domain.sandbox`): the three parts share one
    budget of time, loop steps and output.
    """
    compiled = {part: _compile(part, getattr(template, part)) for part in PARTS}  # outside the render's time
    out: dict[str, str] = {}
    token = sandbox.start()
    try:
        left = sandbox.MAX_OUTPUT_CHARS
        for part, parsed in compiled.items():
            out[part] = _render_part(part, parsed, context, left) if parsed is not None else ""
            left -= len(out[part])
    finally:
        sandbox.finish(token)
    # A subject is one header line: a field holding a line break must not add headers.
    out["subject"] = " ".join(out["subject"].split())
    return Rendered(**out)


def _compile(part: Part, source: str) -> Any:
    if not source:
        return None
    try:
        return _compiled(part, source)
    except (TemplateError, RecursionError) as exc:
        raise RenderFailed.on(part, f"The {part} cannot be rendered: {exc}", "render_failed") from exc


def _render_part(part: Part, compiled: Any, context: Mapping[str, Any], left: int) -> str:
    """One part, produced piece by piece and stopped as soon as the render's output passes the limit."""
    chunks: list[str] = []
    try:
        pieces = compiled.generate(context)
        try:
            for piece in pieces:
                left -= len(piece)
                if left < 0:
                    raise RenderLimit(f"the mail would be longer than {sandbox.MAX_OUTPUT_CHARS:,} characters")
                chunks.append(piece)
        finally:
            pieces.close()
    except RenderLimit as exc:
        raise RenderFailed.on(part, f"The {part} cannot be rendered: {exc}.", "render_limit") from exc
    except (UndefinedError, SecurityError) as exc:
        raise RenderFailed.on(part, f"The {part} cannot be rendered: {exc.message}", "render_failed") from exc
    except (TemplateError, TypeError) as exc:  # TypeError: include/import without a loader
        raise RenderFailed.on(part, f"The {part} cannot be rendered: {exc}", "render_failed") from exc
    except (ArithmeticError, ValueError, LookupError, RecursionError, MemoryError) as exc:
        # 1 / 0, 'abc'.index('z'), a macro calling itself: the template's fault, never a 500
        reason = f"{type(exc).__name__}: {exc}"
        raise RenderFailed.on(part, f"The {part} cannot be rendered: {reason}", "render_failed") from exc
    return "".join(chunks)


def tag_context(
    contact: Mapping[str, Any], account: Mapping[str, Any] | None, record: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The names tags read: every known field present (None when empty), so a known tag never fails."""
    contact_fields = {name: contact.get(name) for name in CONTACT_FIELDS}
    owner = contact.get("owner") or {}
    return {
        "contact": contact_fields,
        "account": {name: (account or {}).get(name) for name in ACCOUNT_FIELDS},
        "owner": {name: owner.get(name) for name in OWNER_FIELDS},
        "record": dict(record or {}),
    }
