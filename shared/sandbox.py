"""The bounded Jinja2 sandbox every template renders in (email's parts, SMS texts): every limit on
the work one render may do. `shared/templating.py` is the engine built on it.

Jinja2's immutable sandbox keeps a template away from Python internals and files, but not from
work: `7 ** 30000000` ran 25 s, `'x' * 10000000` made a 10 MB mail. A render is bounded here by:

- **Operators** (`intercepted_binops`/`call_binop`): `**` and `*` on numbers are refused before they
  run when the result would have more than MAX_INT_BITS bits; `*` and `+` on strings and lists,
  and `%` formatting, when the result would be longer than MAX_VALUE_LENGTH.
- **Values**: every operator, call and filter result, and every value written out, concatenated
  (`~`) or formatted, is measured (characters of its strings plus its items, nested) and may not
  exceed MAX_VALUE_LENGTH; padding and widths (`center`, `ljust`, `'%9999d'`, `'{:9999}'`,
  `indent`, `batch`, ...) are checked before the call.
- **`range`**: at most MAX_RANGE items; **loops**: at most MAX_LOOP_STEPS iterations per render,
  all loops together (each `{% for %}` iterates through a counting wrapper).
- **Output**: a render (all its texts together: a mail's subject, HTML and text) is at most
  MAX_OUTPUT_CHARS characters, counted while it is produced (`Template.generate`) and stopped
  there; text written anywhere (inside macros and `{% set %}` blocks too) counts against
  MAX_WRITTEN_CHARS.
- **Time**: a render has RENDER_SECONDS; the deadline is checked at each operator, call, filter
  and loop iteration (no signals: the sender runs in Lambda threads).

A render over a limit raises `RenderLimit`; `templating.render` turns it into a 422 naming the
field, and the senders fail that one recipient with its reason. What can be seen without
rendering (`7 ** 30000000`, `'x' * 10000000`, `range(10**9)`, `'x'|center(10**9)` written with
literals) is refused when the template is saved (`static_problems`).
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from jinja2 import nodes, pass_context
from jinja2.defaults import DEFAULT_FILTERS
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace
from jinja2.visitor import NodeTransformer

# ----------------------------------------------------------------------------- the limits
# One render is every text of one message (a mail's subject, HTML and text; an SMS's text) for one
# preview or one recipient.
RENDER_SECONDS = 0.1  # per render; ~1000x a real mail's render, and 500 recipients (an audience
#                       page) stay within the email consumer's 120 s even when every render times out
MAX_OUTPUT_CHARS = 250_000  # per render, the three parts together: a queued message keeps its
#                             mail in one DynamoDB item (400 KB at most)
MAX_WRITTEN_CHARS = 4 * MAX_OUTPUT_CHARS  # text written anywhere, macros and set blocks included
MAX_VALUE_LENGTH = MAX_OUTPUT_CHARS  # characters (plus items) of one value a template makes
MAX_INT_BITS = 4096  # a number a template computes (about 1,200 digits)
MAX_RANGE = 10_000  # items of one range()
MAX_LOOP_STEPS = 100_000  # loop iterations per render, all loops together
MAX_WIDTH = 1_000  # a width or precision in a format ('%9999d', '{:>9999}')
MAX_JSON_INDENT = 16  # tojson(indent=...)


class RenderLimit(Exception):
    """A render went over one of the limits above; the message says which and where."""


# ----------------------------------------------------------------------------- the budget


@dataclass
class Budget:
    """What one render has used so far."""

    deadline: float = field(default_factory=lambda: time.monotonic() + RENDER_SECONDS)
    steps: int = 0
    written: int = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderLimit(f"rendering took longer than {RENDER_SECONDS:g} s")

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_LOOP_STEPS:
            raise RenderLimit(f"the loops ran more than {MAX_LOOP_STEPS:,} times")
        self.tick()

    def write(self, size: int) -> None:
        self.written += size
        if self.written > MAX_WRITTEN_CHARS:
            raise RenderLimit(f"the template wrote more than {MAX_WRITTEN_CHARS:,} characters")


_budget: ContextVar[Budget | None] = ContextVar("template_budget", default=None)


def budget() -> Budget:
    """The running render's budget (a fresh one outside a render, e.g. when Jinja2 folds constants)."""
    return _budget.get() or Budget()


def start() -> Any:
    """Start a render's budget; returns the token `finish` takes."""
    return _budget.set(Budget())


def finish(token: Any) -> None:
    _budget.reset(token)


# ----------------------------------------------------------------------------- measuring values


def measure(value: Any, limit: int = MAX_VALUE_LENGTH) -> int:
    """Characters of the strings in `value` plus its items, nested; stops counting past `limit`."""
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str | bytes | range):
            total += len(item)
        elif isinstance(item, list | tuple | set | frozenset):
            total += len(item) + 1
            stack.extend(item)
        elif isinstance(item, dict):
            total += len(item) + 1
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, Namespace):
            stack.append(dict(item._Namespace__attrs))  # type: ignore[attr-defined]
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        else:
            total += 1
    return total


def _check_size(size: int, what: str) -> None:
    if size > MAX_VALUE_LENGTH:
        raise RenderLimit(f"{what} would make a value of {size:,} characters (the limit is {MAX_VALUE_LENGTH:,})")


def _check_bits(bits: float, what: str) -> None:
    if bits > MAX_INT_BITS:
        size = f"{bits:,.0f}" if bits < 2**63 else "more than 2^63"
        raise RenderLimit(f"{what} would make a number of {size} bits (the limit is {MAX_INT_BITS:,})")


def checked(value: Any, what: str) -> Any:
    """`value` when it is within the limits."""
    if isinstance(value, int) and not isinstance(value, bool):
        _check_bits(value.bit_length(), what)
    else:
        _check_size(measure(value), what)
    return value


# ----------------------------------------------------------------------------- operators

_SEQUENCE = (str, bytes, list, tuple)


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse an operator whose result would be over the limits, before it runs."""
    what = f"'{operator}'"
    ints = isinstance(left, int) and isinstance(right, int)
    if operator == "**" and ints and right > 0 and abs(left) > 1:
        _check_bits(right * math.log2(abs(left)) if right.bit_length() < 63 else math.inf, what)
    elif operator == "*":
        if ints:
            _check_bits(left.bit_length() + right.bit_length(), what)
        elif isinstance(left, _SEQUENCE) and isinstance(right, int):
            _check_size(measure(left) * max(right, 0), what)
        elif isinstance(right, _SEQUENCE) and isinstance(left, int):
            _check_size(measure(right) * max(left, 0), what)
    elif operator == "+" and isinstance(left, _SEQUENCE) and isinstance(right, _SEQUENCE):
        _check_size(measure(left) + measure(right), what)
    elif operator == "%" and isinstance(left, str | bytes):
        fmt = left if isinstance(left, str) else left.decode("latin-1")
        check_percent_format(fmt, right if isinstance(right, tuple) else (right,), what)


def checked_binop(operator: str, left: Any, right: Any, run: Callable[[Any, Any], Any]) -> Any:
    check_binop(operator, left, right)
    return checked(run(left, right), f"'{operator}'")


_PERCENT = re.compile(r"%[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*:([^{}]*)(\{)?")


def _widths_ok(found: Iterable[str | None], what: str) -> None:
    for width in found:
        if width == "*" or (width and int(width) > MAX_WIDTH):
            raise RenderLimit(f"{what} uses a width of {width} (the limit is {MAX_WIDTH:,})")


def check_percent_format(fmt: str, args: Iterable[Any], what: str) -> None:
    """`fmt % args`: no width over MAX_WIDTH, and the result within MAX_VALUE_LENGTH."""
    for match in _PERCENT.finditer(fmt):
        _widths_ok(match.groups(), what)
    _format_size(fmt, fmt.count("%"), args, what)


def check_brace_format(fmt: str, args: Iterable[Any], what: str) -> None:
    """`fmt.format(*args)`: as `check_percent_format` for `{:>10}` specs (a nested `{width}` is refused)."""
    for match in _BRACE_SPEC.finditer(fmt):
        if match.group(2):
            raise RenderLimit(f"{what} takes a width from an argument")
        _widths_ok(re.findall(r"\d+", match.group(1)), what)
    _format_size(fmt, fmt.count("{"), args, what)


def _format_size(fmt: str, fields: int, args: Iterable[Any], what: str) -> None:
    largest = max((measure(a) for a in args), default=0)
    _check_size(len(fmt) + fields * (largest + MAX_WIDTH), what)


# ----------------------------------------------------------------------------- calls and filters


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _replace_size(text: str | bytes, old: Any, new: Any, count: Any = None) -> int:
    times = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    return len(text) + times * max(0, len(new) - len(old))


def check_str_method(text: str | bytes, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Refuse a string (or bytes) method whose result would be over the limits (returns the args to call with)."""
    what = f"'{name}()'"
    if name in ("ljust", "rjust", "center", "zfill") and args:
        _check_size(max(len(text), _int(args[0])), what)
    elif name == "expandtabs":
        tab = _int(args[0] if args else kwargs.get("tabsize", 8))
        _check_size(len(text) + text.count("\t" if isinstance(text, str) else b"\t") * tab, what)  # type: ignore[arg-type]
    elif name == "replace" and len(args) >= 2 and all(isinstance(a, str | bytes) for a in args[:2]):
        count = args[2] if len(args) > 2 else kwargs.get("count")
        _check_size(_replace_size(text, args[0], args[1], count), what)
    elif name == "translate" and args and isinstance(args[0], dict):
        longest = max((measure(v) for v in args[0].values()), default=1)
        _check_size(len(text) * max(longest, 1), what)
    elif name == "join" and args:
        items = list(args[0])
        _check_size(sum(measure(i) for i in items) + len(text) * len(items), what)
        return (items, *args[1:])
    return args


def _join_pre(value: Any, d: str = "", attribute: Any = None) -> Any:
    items = list(value)
    _check_size(sum(measure(i) for i in items) + len(d) * len(items), "the 'join' filter")
    return items


def _center_pre(value: Any, width: Any = 80) -> Any:
    _check_size(max(measure(value), _int(width)), "the 'center' filter")
    return value


def _indent_pre(value: Any, width: Any = 4, *args: Any, **kwargs: Any) -> Any:
    text = str(value)
    step = len(width) if isinstance(width, str) else _int(width)
    _check_size(len(text) + (text.count("\n") + 1) * step, "the 'indent' filter")
    return value


def _format_pre(value: Any, *args: Any, **kwargs: Any) -> Any:
    check_percent_format(str(value), (*args, *kwargs.values()), "the 'format' filter")
    return value


def _replace_pre(value: Any, old: Any = "", new: Any = "", count: Any = None) -> Any:
    text = str(value)
    _check_size(_replace_size(text, str(old), str(new), count), "the 'replace' filter")
    return value


def _wordwrap_pre(value: Any, width: Any = 79, breaks: Any = True, wrapstring: Any = None, *a: Any, **k: Any) -> Any:
    text = str(value)
    lines = 2 * len(text) // max(_int(width), 1) + text.count("\n") + 1
    _check_size(len(text) + lines * len(str(wrapstring or "\n")), "the 'wordwrap' filter")
    return value


def _count_pre(name: str) -> Callable[..., Any]:
    def pre(value: Any, count: Any = 1, *args: Any, **kwargs: Any) -> Any:
        _check_size(_int(count), f"the '{name}' filter")
        return value

    return pre


def _sum_pre(value: Any, attribute: Any = None, start: Any = 0) -> Any:
    if not isinstance(start, int | float):
        raise RenderLimit("the 'sum' filter adds numbers only")
    return value


def _tojson_pre(value: Any, indent: Any = None) -> Any:
    if _int(indent) > MAX_JSON_INDENT:
        raise RenderLimit(f"the 'tojson' filter takes an indent of at most {MAX_JSON_INDENT}")
    return value


# Checks made before a filter runs, on its input and arguments (the pass_context/eval_context
# argument left out); each returns the input to run on (join reads a generator once, here).
FILTER_CHECKS: dict[str, Callable[..., Any]] = {
    "join": _join_pre,
    "center": _center_pre,
    "indent": _indent_pre,
    "format": _format_pre,
    "replace": _replace_pre,
    "wordwrap": _wordwrap_pre,
    "batch": _count_pre("batch"),
    "slice": _count_pre("slice"),
    "sum": _sum_pre,
    "tojson": _tojson_pre,
}


def _bounded_filter(name: str, run: Callable[..., Any]) -> Callable[..., Any]:
    passes = getattr(run, "jinja_pass_arg", None) is not None  # context, eval context or environment first
    pre = FILTER_CHECKS.get(name)
    what = f"the '{name}' filter"

    @functools.wraps(run)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        budget().tick()
        head, (value, *rest) = (args[:1], args[1:]) if passes else ((), args)
        _check_size(measure(value), what)
        if pre is not None:
            value = pre(value, *rest, **kwargs)
        return checked(run(*head, value, *rest, **kwargs), what)

    return bounded


# ----------------------------------------------------------------------------- loops, output, ~


def bounded_range(*args: int) -> range:
    """`range` of at most MAX_RANGE items."""
    items = range(*args)
    if len(items) > MAX_RANGE:
        raise RenderLimit(f"range() would have {len(items):,} items (the limit is {MAX_RANGE:,})")
    return items


@pass_context
def _steps(context: Context, iterable: Any) -> Iterator[Any]:
    """What each `{% for %}` iterates: the items, each one counted against the render's budget."""
    spent = budget()
    for item in iterable:
        spent.step()
        yield item


@pass_context
def _written(context: Context, value: Any, static: int = 0) -> Any:
    """Each `{{ ... }}` (and the literal text beside it): counted before it is written."""
    static = max(static, 0) if isinstance(static, int) else 0  # a template may name this filter too
    written = measure(value, MAX_WRITTEN_CHARS)
    _check_size(written, "writing a value")
    budget().write(static + written)
    return value


@pass_context
def _concat(context: Context, parts: list[Any]) -> str:
    """`a ~ b`: measured before it is joined."""
    budget().tick()
    _check_size(sum(measure(p) for p in parts), "'~'")
    return (markup_join if context.eval_ctx.autoescape else str_join)(parts)


_STEPS, _WRITTEN, _CONCAT = "kontakt_loop_steps", "kontakt_written", "kontakt_concat"


def _filter(node: nodes.Expr, name: str, *args: nodes.Expr) -> nodes.Filter:
    return nodes.Filter(node, name, list(args), [], None, None, lineno=node.lineno)


class _Bound(NodeTransformer):
    """Routes loops, writes and `~` of a parsed template through the counting filters above."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _filter(node.iter, _STEPS)  # type: ignore[arg-type]
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _filter(nodes.List(node.nodes, lineno=node.lineno), _CONCAT)

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        static = sum(len(n.data) for n in node.nodes if isinstance(n, nodes.TemplateData))
        children: list[nodes.Expr] = [
            n if isinstance(n, nodes.TemplateData) else _filter(n, _WRITTEN) for n in node.nodes
        ]
        if static:  # literal text is written too (a loop or a macro can repeat it)
            children.insert(0, _filter(nodes.Const("", lineno=node.lineno), _WRITTEN, nodes.Const(static)))
        node.nodes = children
        return node


# ----------------------------------------------------------------------------- the environment


def _mapped(args: Iterable[Any]) -> list[Any]:
    """The values of mappings among `args` (what `format_map` reads)."""
    return [v for a in args if isinstance(a, dict) for v in a.values()]


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox with the limits above."""

    intercepted_binops = frozenset({"**", "*", "+", "-", "/", "//", "%"})
    intercepted_unops = frozenset({"+", "-"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = bounded_range
        self.globals.pop("lipsum", None)  # lorem ipsum of any length: no use in a mail
        self.filters = {name: _bounded_filter(name, run) for name, run in DEFAULT_FILTERS.items()}
        self.filters.update({_STEPS: _steps, _WRITTEN: _written, _CONCAT: _concat})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget().tick()
        return checked_binop(operator, left, right, self.binop_table[operator])

    def call_unop(self, context: Context, operator: str, arg: Any) -> Any:
        budget().tick()
        return self.unop_table[operator](arg)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        budget().tick()
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str | bytes) and isinstance(name := getattr(obj, "__name__", None), str):
            args = check_str_method(owner, name, args, kwargs)
        return checked(super().call(context, obj, *args, **kwargs), "a call")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        run = super().wrap_str_format(value)
        if run is None:
            return None
        fmt = value.__self__

        def bounded(*args: Any, **kwargs: Any) -> str:
            given = [*args, *kwargs.values(), *_mapped(args)]
            check_brace_format(fmt, given, "'format()'")
            return run(*args, **kwargs)

        return bounded

    def bounded_parse(self, source: str) -> nodes.Template:
        """The parsed template with its loops, writes and `~` counted (compile this, not the source)."""
        tree = _Bound().visit(self.parse(source))
        tree.set_environment(self)
        return tree  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- at save time


class _NotLiteral(Exception):
    pass


_BINOPS: dict[type[nodes.BinExpr], str] = {
    nodes.Pow: "**",
    nodes.Mul: "*",
    nodes.Add: "+",
    nodes.Sub: "-",
    nodes.Div: "/",
    nodes.FloorDiv: "//",
    nodes.Mod: "%",
}


def _literal(node: nodes.Node) -> Any:
    """The value of an expression written with literals only, computed within the limits."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.List | nodes.Tuple):
        return [_literal(n) for n in node.items]
    if isinstance(node, nodes.Neg):
        return -_literal(node.node)
    if isinstance(node, nodes.Pos):
        return _literal(node.node)
    if isinstance(node, nodes.BinExpr) and type(node) in _BINOPS:
        operator = _BINOPS[type(node)]
        left, right = _literal(node.left), _literal(node.right)
        try:
            return checked_binop(operator, left, right, ImmutableSandboxedEnvironment.default_binop_table[operator])
        except RenderLimit:
            raise
        except Exception as exc:  # e.g. 1 / 0: not this check's business
            raise _NotLiteral from exc
    raise _NotLiteral


def _static_problem(node: nodes.Node) -> str | None:
    try:
        if isinstance(node, nodes.BinExpr):
            _literal(node)
        elif isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "range":
            bounded_range(*[_literal(a) for a in node.args])
        elif isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
            owner, args = _literal(node.node.node), [_literal(a) for a in node.args]
            if isinstance(owner, str) and node.node.attr in ("format", "format_map"):
                check_brace_format(owner, [*args, *_mapped(args)], "'format()'")
            elif isinstance(owner, str):
                check_str_method(owner, node.node.attr, tuple(args), {})
        elif isinstance(node, nodes.Filter) and node.name in FILTER_CHECKS and node.node is not None:
            kwargs = {str(k.key): _literal(k.value) for k in node.kwargs}
            FILTER_CHECKS[node.name](_literal(node.node), *[_literal(a) for a in node.args], **kwargs)
    except RenderLimit as exc:
        return f"Line {node.lineno}: {exc}."
    except (_NotLiteral, TypeError, ValueError):
        return None
    return None


def static_problems(tree: nodes.Template) -> list[str]:
    """The limits a template would go over whatever its data (literal operands), as messages."""
    found = (_static_problem(n) for n in tree.find_all((nodes.BinExpr, nodes.Call, nodes.Filter)))
    return list(dict.fromkeys(p for p in found if p))
