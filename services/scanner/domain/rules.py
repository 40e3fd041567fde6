"""Scanner rules (pure): what a client sends and gets back, and how a mailbox's rules decide what
becomes of a new mail (issue 21 item 3).

A rule has conditions on the mail (from, to, cc, subject, body or any header; contains, equals,
starts with or a regular expression; all or any of them) and actions: the ticket's status,
priority, category, owner and tags, the contact to create for an unknown sender, skip (no ticket)
and stop (no later rule is evaluated). The rules of a mailbox are evaluated in their order
(`position`); each rule that matches sets its fields over the earlier ones' (tags are added up),
and the first that skips or stops ends the evaluation.

Regular expressions run on the `regex` package with a time limit (`REGEX_SECONDS` each, at most
`BUDGET_SECONDS` for all the rules of one mail): a catastrophic pattern (`(a+)+$` on a long
"aaa...b") is cut off, and a condition cut off does not match (the mail still becomes a ticket by
the other rules, reported in `Outcome.timed_out`). Patterns are compiled when a rule is saved: an
invalid one is refused then (422 naming the condition's `value`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from services.scanner.domain.tickets import Priority, TicketStatus
from shared.types import INPUT, OUTPUT, Code, Name200, Owner, reject_null

if TYPE_CHECKING:  # the MIME parser loads with an inbound mail, not with the rules' routes
    from services.scanner.domain.mime import ParsedMessage

REGEX_SECONDS = 0.05  # one regular expression on one text
BUDGET_SECONDS = 1.0  # every regular expression of every rule on one mail
MAX_RULES = 100  # of one mailbox
MAX_CONDITIONS = 20
MAX_TAGS = 20
HEADER_NAME = r"^[!-9;-~]{1,100}$"  # RFC 5322 2.2: printable ASCII but the colon


class RuleField(StrEnum):
    from_ = "from"
    to = "to"
    cc = "cc"
    subject = "subject"
    body = "body"
    header = "header"


class RuleOperator(StrEnum):
    contains = "contains"
    equals = "equals"
    starts_with = "starts_with"
    regex = "regex"


class RuleMatch(StrEnum):
    all = "all"
    any = "any"


class RuleCondition(BaseModel):
    model_config = INPUT

    field: RuleField = Field(
        description="What is compared: from, to and cc each address (its address and its name), subject, body "
        "(the text), or the header named in `header` (each of its values, decoded)"
    )
    header: str | None = Field(
        None,
        pattern=HEADER_NAME,
        description="The header's name when `field` is header, and only then (else a 422 `header_required`)",
    )
    operator: RuleOperator
    value: str = Field(
        min_length=1,
        max_length=1000,
        description="The text compared, case-insensitively; for `regex` a pattern (Python `regex` syntax, "
        "compiled when the rule is saved: an invalid one is a 422 `invalid_pattern` naming this field)",
    )

    @model_validator(mode="after")
    def _header_named(self) -> RuleCondition:
        if (self.field == RuleField.header) != bool(self.header):
            raise PydanticCustomError("header_required", "`header` names the header exactly when `field` is header")
        return self


class RuleActions(BaseModel):
    model_config = INPUT

    skip: bool = Field(False, description="Open no ticket for the mail (it is dropped); ends the evaluation")
    status: TicketStatus | None = None
    priority: Priority | None = None
    category: Code | None = Field(None, description="The ticket's category (a code)")
    owner: Owner | None = Field(None, description="Who owns the ticket: a user or a group")
    tags: list[Code] = Field(default_factory=list, max_length=MAX_TAGS, description="Tags added to the ticket")
    create_contact: bool = Field(
        False,
        description="When no contact of the directory has the sender's address, ask the directory to create one "
        "(named by the From name) and link the ticket to it",
    )


class RuleCreate(BaseModel):
    model_config = INPUT

    name: Name200
    active: bool = True
    match: RuleMatch = Field(RuleMatch.all, description="Whether all conditions must hold, or any one")
    conditions: list[RuleCondition] = Field(
        default_factory=list, max_length=MAX_CONDITIONS, description="None: the rule matches every mail"
    )
    actions: RuleActions = Field(default_factory=RuleActions)
    stop: bool = Field(False, description="When the rule matches, evaluate no later rule")
    position: int | None = Field(
        None, ge=1, description="Where the rule goes in the mailbox's order (1 = first); default last"
    )


class RulePatch(BaseModel):
    model_config = INPUT

    name: Name200 | None = None
    active: bool | None = None
    match: RuleMatch | None = None
    conditions: list[RuleCondition] | None = Field(None, max_length=MAX_CONDITIONS)
    actions: RuleActions | None = None
    stop: bool | None = None
    position: int | None = Field(None, ge=1, description="Move the rule to this place (1 = first; past the end: last)")

    _not_null = field_validator("name", "active", "match", "conditions", "actions", "stop", "position")(reject_null)


class Rule(BaseModel):
    model_config = OUTPUT

    id: str
    mailbox_id: str
    position: int = Field(description="The rule's place in the mailbox's order, 1 first")
    name: str
    active: bool = True
    match: RuleMatch = RuleMatch.all
    conditions: list[RuleCondition] = Field(default_factory=list)
    actions: RuleActions = Field(default_factory=RuleActions)
    stop: bool = False
    created_at: datetime
    updated_at: datetime
    version: int = 1


def invalid_patterns(conditions: Sequence[RuleCondition | dict[str, Any]]) -> list[tuple[int, str]]:
    """The conditions whose regular expression does not compile: (index, why)."""
    import regex  # here: a mail whose rules have no regular expression does not load it (~13 ms)

    found = []
    for n, condition in enumerate(conditions):
        data = condition.model_dump(mode="json") if isinstance(condition, BaseModel) else condition
        if data.get("operator") != RuleOperator.regex:
            continue
        try:
            _compiled(str(data["value"]))
        except regex.error as exc:
            found.append((n, f"Not a valid regular expression: {exc}"))
    return found


_PATTERNS: dict[str, Any] = {}


def _compiled(pattern: str) -> Any:
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        import regex  # here: a mail whose rules have no regular expression does not load it (~13 ms)

        compiled = regex.compile(pattern, regex.IGNORECASE)
        if len(_PATTERNS) > 1000:
            _PATTERNS.clear()
        _PATTERNS[pattern] = compiled
    return compiled


# ----------------------------------------------------------------------------- evaluation


@dataclass
class Outcome:
    """What a mailbox's rules decided for one mail."""

    skip: bool = False
    changes: dict[str, Any] = field(default_factory=dict)  # status, priority, category, owner
    tags: list[str] = field(default_factory=list)
    create_contact: bool = False
    matched: list[str] = field(default_factory=list)  # the ids of the rules that matched, in order
    timed_out: list[str] = field(default_factory=list)  # rules with a regular expression cut off


def values_of(parsed: ParsedMessage, text: str) -> Callable[[dict[str, Any]], list[str]]:
    """What a condition compares, for a parsed mail (`text`: its body as the article keeps it)."""

    def addresses(found: list[Any]) -> list[str]:
        return [v for a in found for v in (a.email, a.name) if v]

    def values(condition: dict[str, Any]) -> list[str]:
        kind = condition.get("field")
        if kind == RuleField.from_:
            return addresses([*parsed.from_, *([parsed.sender] if parsed.sender and not parsed.from_ else [])])
        if kind == RuleField.to:
            return addresses(parsed.to)
        if kind == RuleField.cc:
            return addresses(parsed.cc)
        if kind == RuleField.subject:
            return [parsed.subject]
        if kind == RuleField.body:
            return [text]
        return parsed.header_values(str(condition.get("header") or ""))

    return values


class _Clock:
    """The time left of the mail's regular-expression budget."""

    def __init__(self, budget: float, now: Callable[[], float]) -> None:
        self.now = now
        self.deadline = now() + budget

    def left(self) -> float:
        return self.deadline - self.now()


def _holds(condition: dict[str, Any], values: list[str], clock: _Clock) -> bool | None:
    """Whether the condition holds for any of the values; None when a regular expression was cut off."""
    operator, wanted = condition.get("operator"), str(condition.get("value") or "")
    if operator == RuleOperator.regex:
        pattern = _compiled(wanted)
        for value in values:
            left = min(REGEX_SECONDS, clock.left())
            if left <= 0:
                return None
            try:
                if pattern.search(value, timeout=left) is not None:
                    return True
            except TimeoutError:
                return None
        return False
    needle = wanted.casefold()
    for value in values:
        text = value.casefold()
        if operator == RuleOperator.contains and needle in text:
            return True
        if operator == RuleOperator.equals and text.strip() == needle.strip():
            return True
        if operator == RuleOperator.starts_with and text.lstrip().startswith(needle):
            return True
    return False


def _matches(rule: dict[str, Any], values: Callable[[dict[str, Any]], list[str]], clock: _Clock) -> tuple[bool, bool]:
    """(the rule matches, a regular expression of it was cut off)."""
    conditions = rule.get("conditions") or []
    if not conditions:
        return True, False
    every = rule.get("match", RuleMatch.all) == RuleMatch.all
    cut = False
    for condition in conditions:
        held = _holds(condition, values(condition), clock)
        if held is None:
            cut, held = True, False
        if every and not held:
            return False, cut
        if not every and held:
            return True, cut
    return every, cut


def evaluate(
    rules: Sequence[dict[str, Any]],
    values: Callable[[dict[str, Any]], list[str]],
    budget: float = BUDGET_SECONDS,
    now: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Apply a mailbox's rules (each `{id, active, match, conditions, actions, stop}`, in order)."""
    outcome = Outcome()
    clock = _Clock(budget, now)
    for rule in rules:
        if not rule.get("active", True):
            continue
        matched, cut = _matches(rule, values, clock)
        if cut:
            outcome.timed_out.append(str(rule.get("id")))
        if not matched:
            continue
        outcome.matched.append(str(rule.get("id")))
        actions = rule.get("actions") or {}
        if actions.get("skip"):
            outcome.skip = True
            return outcome
        for name in ("status", "priority", "category", "owner"):
            if actions.get(name) is not None:
                outcome.changes[name] = actions[name]
        outcome.tags = list(dict.fromkeys([*outcome.tags, *(actions.get("tags") or [])]))
        outcome.create_contact = outcome.create_contact or bool(actions.get("create_contact"))
        if rule.get("stop"):
            return outcome
    return outcome
