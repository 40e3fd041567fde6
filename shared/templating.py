"""The one template engine: checking a text when it is saved and rendering it with the tag context.

Email's templates (subject, HTML, text) and SMS texts are Jinja2 templates rendered here, in the
bounded sandbox (`shared/sandbox.py`: no loader, no Python internals, every limit on the work
one render may do). Tags read `contact`, `account`, `owner` and `record` (`shared/tags.py` builds
the context). A text marked `html` is autoescaped; the others are not (a subject, a plain text, an
SMS are not HTML).

Imported where a text is checked or rendered (inside the functions that do), not by every module
that knows templates: Jinja2 and the sandbox cost ~25-40 ms of a cold start (docs/decisions.md,
"Cold start"). Every error names the field the caller gave the text under (a mail's part, an
SMS's `text`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError

from shared import sandbox
from shared.errors import FieldError, ValidationFailed
from shared.sandbox import BoundedSandbox, RenderLimit
from shared.tags import KNOWN, ROOTS


class RenderFailed(ValidationFailed):
    """A text could not be rendered with this context (e.g. a `record.*` field the data lacks, or
    work over one of the sandbox's limits): names the text's field."""


def _finalize(value: Any) -> Any:
    return "" if value is None else value  # an empty field prints nothing, not "None"


_HTML = BoundedSandbox(autoescape=True, undefined=StrictUndefined, finalize=_finalize)
_PLAIN = BoundedSandbox(autoescape=False, undefined=StrictUndefined, finalize=_finalize)


def _env(html: bool) -> BoundedSandbox:
    return _HTML if html else _PLAIN


def problems(source: str, *, html: bool = False, roots: Collection[str] = ROOTS) -> list[str]:
    """What is wrong with one text's source (empty when it may be saved): its syntax, a tag naming
    a name outside `roots` or an unknown contact/account/owner field, a `_` name or attribute, an
    include, import or extends, and work over the sandbox's limits written with literals."""
    try:
        return _problems(source, html, roots)
    except RecursionError:  # `{{ ((((...` thousands deep: Jinja2's parser and code generator recurse
        return ["The template nests too deeply."]


def _problems(source: str, html: bool, roots: Collection[str]) -> list[str]:
    try:
        tree = _env(html).parse(source)
    except TemplateSyntaxError as exc:
        return [f"Syntax error on line {exc.lineno}: {exc.message}"]
    allowed = [root for root in ROOTS if root in roots]
    use = f"{', '.join(allowed[:-1])} or {allowed[-1]}" if len(allowed) > 1 else allowed[0]
    found = [f"Unknown tag '{name}': use {use}." for name in _unknown_roots(tree, allowed)]
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


def check(
    texts: Mapping[str, str],
    *,
    html: Collection[str] = (),
    roots: Collection[str] = ROOTS,
    title: str = "The template cannot be saved.",
) -> None:
    """422 `invalid_template` naming each field (in `texts`' order) whose text cannot be saved."""
    errors = [
        FieldError(field=field, message=message, code="invalid_template")
        for field, source in texts.items()
        for message in problems(source, html=field in html, roots=roots)
    ]
    if errors:
        raise ValidationFailed(title, errors)


def _unknown_roots(tree: nodes.Template, roots: Collection[str]) -> list[str]:
    return sorted(meta.find_undeclared_variables(tree) - set(roots))


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
def _compiled(html: bool, source: str) -> Any:
    env = _env(html)
    return env.from_string(env.bounded_parse(source))


def render(
    texts: Mapping[str, str], context: Mapping[str, Any], *, html: Collection[str] = (), what: str = "the message"
) -> dict[str, str]:
    """Render each text (field -> source) with a tag context (`shared.tags.tag_context`); pure, no I/O.

    Raises `RenderFailed` (422 naming the field) when a text reads something the context lacks (a
    `record.*` field the data lacks), the sandbox refuses an operation, or the render goes over one
    of the sandbox's limits: the texts share one budget of time, loop steps and output (`what`
    names them in the output limit's reason). An empty text renders as "".
    """
    compiled = {field: _compile(field, source, field in html) for field, source in texts.items()}  # untimed
    out: dict[str, str] = {}
    token = sandbox.start()
    try:
        left = sandbox.MAX_OUTPUT_CHARS
        for field, parsed in compiled.items():
            out[field] = _render_text(field, parsed, context, left, what) if parsed is not None else ""
            left -= len(out[field])
    finally:
        sandbox.finish(token)
    return out


def _compile(field: str, source: str, html: bool) -> Any:
    if not source:
        return None
    try:
        return _compiled(html, source)
    except (TemplateError, RecursionError) as exc:
        raise RenderFailed.on(field, f"The {field} cannot be rendered: {exc}", "render_failed") from exc


def _render_text(field: str, compiled: Any, context: Mapping[str, Any], left: int, what: str) -> str:
    """One text, produced piece by piece and stopped as soon as the render's output passes the limit."""
    chunks: list[str] = []
    try:
        pieces = compiled.generate(context)
        try:
            for piece in pieces:
                left -= len(piece)
                if left < 0:
                    raise RenderLimit(f"{what} would be longer than {sandbox.MAX_OUTPUT_CHARS:,} characters")
                chunks.append(piece)
        finally:
            pieces.close()
    except RenderLimit as exc:
        raise RenderFailed.on(field, f"The {field} cannot be rendered: {exc}.", "render_limit") from exc
    except (UndefinedError, SecurityError) as exc:
        raise RenderFailed.on(field, f"The {field} cannot be rendered: {exc.message}", "render_failed") from exc
    except (TemplateError, TypeError) as exc:  # TypeError: include/import without a loader
        raise RenderFailed.on(field, f"The {field} cannot be rendered: {exc}", "render_failed") from exc
    except (ArithmeticError, ValueError, LookupError, RecursionError, MemoryError) as exc:
        # 1 / 0, 'abc'.index('z'), a macro calling itself: the template's fault, never a 500
        reason = f"{type(exc).__name__}: {exc}"
        raise RenderFailed.on(field, f"The {field} cannot be rendered: {reason}", "render_failed") from exc
    return "".join(chunks)
