"""Scanner rules' evaluation (services/scanner/domain/rules.py): order, stop, skip, each operator,
and a catastrophic regular expression cut off within its time limit."""

from __future__ import annotations

import time
from typing import Any

from services.scanner.domain.mime import parse
from services.scanner.domain.rules import BUDGET_SECONDS, evaluate, invalid_patterns, values_of

MAIL = (
    b"From: Maija Meikalainen <maija@example.fi>\r\nTo: tuki@support.example.fi\r\nCc: pekka@example.org\r\n"
    b"Subject: Lasku 1234 erapaiva\r\nX-Priority: 1 (Highest)\r\nMessage-ID: <a1@example.fi>\r\n\r\n"
    b"Hei, laskussa on virhe.\r\n"
)


def _values(body: bytes = MAIL) -> Any:
    parsed = parse(body)
    return values_of(parsed, parsed.text)


def _rule(rule_id: str, *conditions: dict[str, Any], match: str = "all", stop: bool = False, **actions: Any) -> Any:
    return {"id": rule_id, "match": match, "conditions": list(conditions), "actions": actions, "stop": stop}


def test_each_operator_on_each_field() -> None:
    cases = [
        ({"field": "from", "operator": "equals", "value": "MAIJA@example.fi"}, True),
        ({"field": "from", "operator": "contains", "value": "meikalainen"}, True),
        ({"field": "to", "operator": "starts_with", "value": "tuki@"}, True),
        ({"field": "cc", "operator": "equals", "value": "pekka@example.org"}, True),
        ({"field": "cc", "operator": "equals", "value": "maija@example.fi"}, False),
        ({"field": "subject", "operator": "regex", "value": r"lasku \d{4}"}, True),
        ({"field": "subject", "operator": "starts_with", "value": "erapaiva"}, False),
        ({"field": "body", "operator": "contains", "value": "VIRHE"}, True),
        ({"field": "header", "header": "x-priority", "operator": "starts_with", "value": "1"}, True),
        ({"field": "header", "header": "X-Missing", "operator": "contains", "value": "1"}, False),
    ]
    for condition, expected in cases:
        outcome = evaluate([_rule("r", condition, tags=["t"])], _values())
        assert (outcome.matched == ["r"]) is expected, condition


def test_order_stop_skip_and_all_or_any() -> None:
    subject = {"field": "subject", "operator": "contains", "value": "lasku"}
    other = {"field": "subject", "operator": "contains", "value": "tilaus"}
    rules = [
        _rule("1", subject, other, match="all", priority="low"),  # all: no match
        _rule("2", subject, other, match="any", priority="high", tags=["a"]),
        _rule("3", subject, category="billing", tags=["b", "a"], stop=True),
        _rule("4", subject, skip=True),  # never reached
    ]
    outcome = evaluate(rules, _values())
    assert outcome.matched == ["2", "3"] and not outcome.skip
    assert outcome.changes == {"priority": "high", "category": "billing"} and outcome.tags == ["a", "b"]
    skipping = evaluate([_rule("s", subject, skip=True), _rule("t", status="open")], _values())
    assert skipping.skip and skipping.matched == ["s"]
    inactive = evaluate([{**_rule("s", subject, skip=True), "active": False}], _values())
    assert not inactive.skip and inactive.matched == []


def test_a_catastrophic_pattern_is_cut_off_and_does_not_match() -> None:
    text = "a" * 50_000 + "b"
    body = b"From: x@example.fi\r\nTo: tuki@support.example.fi\r\nSubject: s\r\n\r\n" + text.encode() + b"\r\n"
    catastrophic = {"field": "body", "operator": "regex", "value": "(a+)+$"}
    rules = [_rule(str(n), catastrophic, tags=["never"]) for n in range(40)] + [_rule("last", tags=["ok"])]
    started = time.process_time()  # CPU time: a busy machine stretches the wall clock, not the work
    outcome = evaluate(rules, _values(body))
    spent = time.process_time() - started
    assert spent < BUDGET_SECONDS + 1.0, spent  # 40 patterns of 50 ms each are held to the budget; uncut: hours
    assert outcome.matched == ["last"] and outcome.tags == ["ok"]
    assert outcome.timed_out and outcome.timed_out[0] == "0"


def test_invalid_patterns_are_named() -> None:
    conditions = [
        {"field": "subject", "operator": "regex", "value": "ok.*"},
        {"field": "subject", "operator": "regex", "value": "(unclosed"},
        {"field": "subject", "operator": "contains", "value": "(fine as text"},
    ]
    [(index, why)] = invalid_patterns(conditions)
    assert index == 1 and "regular expression" in why
