"""Every setting a function's code reads is set for that function in template.yaml.

The functions read their settings through `shared.settings` classes (`load(EmailSettings).files_bucket`),
whose fields default to "" when the variable is unset: a missing variable shows up only as a wrong
value at run time (the consumer staged every campaign attachment with bucket ""). This test finds,
per function, the code it can run and the settings fields that code reads, from the source:

- the entry points: the function's handler; for an API function every route of its service; for a
  consumer every `@subscribe`d handler of an event type the template routes to its queue; for a jobs
  function every `@job` of its service;
- from there every function or class it names (through its module's imports; a class brings its
  methods), transitively;
- in those, every `load(SettingsClass).field`, `name = load(SettingsClass)` ... `name.field`, and
  `parameter: SettingsClass` ... `parameter.field`.

Each field read must be in the function's Environment (Globals included), unless OPTIONAL says why not.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from infra.docs import load_catalogue
from infra.template import Stack, load_stack, translate
from tests.sources import parse

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "shared")

# (function or "*", variable): why the function may run without it.
OPTIONAL = {
    ("*", "UNSUBSCRIBE_MAILBOX"): "the List-Unsubscribe mailto address has a default",
}


@dataclass
class Definition:
    module: str
    name: str  # "f" or "Class" (a class's methods are part of it)
    names: set[str] = field(default_factory=set)  # qualified names it refers to
    reads: set[tuple[str, str]] = field(default_factory=set)  # (settings class, field)
    decorators: list[tuple[str, str]] = field(default_factory=list)  # (decorator name, first string argument)


@dataclass
class Code:
    definitions: dict[str, Definition] = field(default_factory=dict)  # "module.name" -> definition
    settings: dict[str, dict[str, str]] = field(default_factory=dict)  # class -> field -> variable


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _imports(tree: ast.Module, module: str) -> dict[str, str]:
    """Local name -> qualified name, for what the module imports."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                found[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found[alias.asname or alias.name.split(".")[0]] = alias.name
    return found


def _settings_fields(node: ast.ClassDef) -> dict[str, str]:
    fields = {}
    for item in node.body:
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            variable = item.target.id.upper()
            if isinstance(item.value, ast.Call):
                alias = next((k.value for k in item.value.keywords if k.arg == "validation_alias"), None)
                if isinstance(alias, ast.Constant):
                    variable = str(alias.value)
            fields[item.target.id] = variable
    return fields


def _reads(node: ast.AST, settings: set[str]) -> set[tuple[str, str]]:
    """(class, field) for `load(C).f`, `x = load(C)` ... `x.f` and `x: C` ... `x.f` in the node."""
    bound: dict[str, str] = {}
    for item in ast.walk(node):
        if isinstance(item, ast.Assign) and isinstance(item.value, ast.Call) and _loaded(item.value, settings):
            for target in item.targets:
                if isinstance(target, ast.Name):
                    bound[target.id] = _loaded(item.value, settings) or ""
        elif isinstance(item, ast.arg) and isinstance(item.annotation, ast.Name) and item.annotation.id in settings:
            bound[item.arg] = item.annotation.id
    found = set()
    for item in ast.walk(node):
        if isinstance(item, ast.Call) and (cls := _entry_settings(item, settings)):
            found.add((cls, "table_name"))  # shared/entry.py's cold start binds the class's table
        if isinstance(item, ast.Attribute):
            if isinstance(item.value, ast.Call) and (cls := _loaded(item.value, settings)):
                found.add((cls, item.attr))
            elif isinstance(item.value, ast.Name) and item.value.id in bound:
                found.add((bound[item.value.id], item.attr))
    return found


# shared/entry.py's helpers take the handler's settings class and read its `table_name` at cold start.
ENTRY_HELPERS = frozenset({"entry", "function_entry", "consumer_entry", "jobs_entry", "bodies_entry"})


def _entry_settings(call: ast.Call, settings: set[str]) -> str | None:
    name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)
    argument = call.args[0] if call.args else None
    if name in ENTRY_HELPERS and isinstance(argument, ast.Name) and argument.id in settings:
        return argument.id
    return None


def _loaded(call: ast.Call, settings: set[str]) -> str | None:
    if isinstance(call.func, ast.Name) and call.func.id == "load" and call.args:
        argument = call.args[0]
        if isinstance(argument, ast.Name) and argument.id in settings:
            return argument.id
    return None


def _decorators(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> list[tuple[str, str]]:
    found = []
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call):
            name = ast.unparse(decorator.func)
            argument = decorator.args[0] if decorator.args else None
            found.append((name, str(argument.value) if isinstance(argument, ast.Constant) else ""))
    return found


def read_code() -> Code:
    code = Code()
    trees = {module: parse(path.read_text(), str(path)) for module, path in _modules()}
    own: dict[str, dict[str, str]] = {}
    bases: dict[str, list[str]] = {}
    for tree in trees.values():  # the settings classes first: reads refer to them by name
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Settings") and node.bases:
                own[node.name] = _settings_fields(node)
                bases[node.name] = [ast.unparse(b) for b in node.bases]

    def fields(name: str) -> dict[str, str]:  # inherited fields first, the class's own override them
        inherited = [fields(b) for b in bases.get(name, []) if b in own]
        return {k: v for parent in inherited for k, v in parent.items()} | own[name]

    def is_settings(name: str) -> bool:  # settings classes, not models that happen to be named so
        return any(b == "BaseSettings" or (b in bases and is_settings(b)) for b in bases.get(name, []))

    code.settings = {name: fields(name) for name in own if is_settings(name)}
    settings = set(code.settings)
    for module, tree in trees.items():
        imported = _imports(tree, module)
        local = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            definition = Definition(module, node.name, decorators=_decorators(node))
            for item in ast.walk(node):
                if isinstance(item, ast.Name):
                    if item.id in local:
                        definition.names.add(f"{module}.{item.id}")
                    elif item.id in imported:
                        definition.names.add(imported[item.id])
                elif (
                    isinstance(item, ast.Attribute) and isinstance(item.value, ast.Name) and item.value.id in imported
                ):  # module.function
                    definition.names.add(f"{imported[item.value.id]}.{item.attr}")
            definition.reads = _reads(node, settings)
            code.definitions[f"{module}.{node.name}"] = definition
    return code


def _routed_types(stack: Stack, function: str) -> set[str]:
    """The event types the template's rules deliver to the function's queues."""
    queues = {m.source_arn for m in stack.mappings.values() if m.function == function and m.kind == "sqs"}
    types: set[str] = set()
    for rule in stack.rules.values():
        if any(t.arn in queues for t in rule.targets) and rule.event_pattern:
            for entry in rule.event_pattern.get("detail-type", []):
                if isinstance(entry, dict) and isinstance(entry.get("anything-but"), list):  # the webhooks fan-out
                    types.update(s.event_type for s in load_catalogue() if s.event_type not in entry["anything-but"])
                else:
                    types.add(entry)
    return types


def roots(code: Code, stack: Stack, function: str) -> set[str]:
    handler = stack.functions[function].handler
    service = handler.split(".")[1] if handler.startswith("services.") else None
    kind = handler.split(".")[-2]  # api, consumer, jobs, sender ...
    found = {handler}
    types = _routed_types(stack, function)
    for qualified, definition in code.definitions.items():
        if service is None or not definition.module.startswith(f"services.{service}."):
            continue
        for decorator, argument in definition.decorators:
            if (
                (kind == "api" and decorator.startswith(("router.", "app.")))
                or (kind == "consumer" and decorator == "subscribe" and argument in types)
                or (kind == "consumer" and decorator == "subscribe_offered")  # webhooks: every offered type
                or (kind == "jobs" and decorator == "job")
            ):
                found.add(qualified)
    return found


def reads(code: Code, start: set[str]) -> set[tuple[str, str]]:
    seen, todo = set(), list(start)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        definition = code.definitions.get(name)
        if definition is None:  # a re-export: `from services.email.campaigns import x` in another module
            continue
        todo.extend(definition.names)
    found = set()
    for name in seen:
        if name in code.definitions:
            found |= code.definitions[name].reads
    return found


@pytest.fixture(scope="module")
def code() -> Code:
    return read_code()


@pytest.fixture(scope="module")
def stack() -> Stack:
    return load_stack(PROJECT_ROOT, {"Stage": "dev"})


def missing(code: Code, stack: Stack, function: str) -> list[str]:
    environment = stack.functions[function].environment
    variables = {
        code.settings[cls][name]
        for cls, name in reads(code, roots(code, stack, function))
        if name in code.settings.get(cls, {})
    }
    return sorted(
        v for v in variables if v not in environment and ("*", v) not in OPTIONAL and (function, v) not in OPTIONAL
    )


def test_the_analysis_sees_what_a_function_reads(code: Code, stack: Stack) -> None:
    """The analysis itself: the sender reads its bucket and configuration set, the jobs function the group."""
    sender = reads(code, roots(code, stack, "EmailSenderFunction"))
    assert {("EmailSettings", "table_name"), ("EmailSettings", "configuration_set")} <= sender
    assert ("SchedulerSettings", "schedule_group") in reads(code, roots(code, stack, "EmailJobsFunction"))
    assert ("EmailSettings", "files_bucket") in reads(code, roots(code, stack, "EmailConsumerFunction"))
    assert ("PublisherSettings", "event_source") in reads(code, roots(code, stack, "EmailPublisherFunction"))
    assert ("EmailSettings", "files_bucket") not in reads(code, roots(code, stack, "EmailFeedbackFunction"))


def test_a_function_without_a_variable_its_code_reads_fails(code: Code, stack: Stack) -> None:
    """The defect this test was written for: the consumer stages campaign attachments with its bucket."""
    consumer = stack.functions["EmailConsumerFunction"]
    environment = consumer.environment
    try:
        consumer.environment = {k: v for k, v in environment.items() if k != "FILES_BUCKET"}
        assert missing(code, stack, "EmailConsumerFunction") == ["FILES_BUCKET"]
    finally:
        consumer.environment = environment


@pytest.mark.parametrize("function", sorted(translate(PROJECT_ROOT).code_dirs))
def test_every_setting_a_function_reads_is_in_its_environment(code: Code, stack: Stack, function: str) -> None:
    assert missing(code, stack, function) == []
