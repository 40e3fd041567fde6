"""Every AWS call the code can make is allowed by the role of each function that can make it.

The local runtime refuses a call its function's role does not allow (infra/iam.py), but only the
calls the tests happen to run. This test reads the source instead, so a call no test exercises is
still checked:

- the call sites: `client.<operation>(...)` on a boto3 client (`boto3.client("sqs")`, a function
  returning one, a name bound to either; presigned URLs and POSTs as the operation they sign);
  pynamodb's `Model.get/query/scan/count/batch_get/exists/describe_table`, `Model.<index>.query/
  scan/count`, an item's `save/update/delete/refresh`, `Model.batch_write()`'s writes, and a
  `TransactWrite`'s `save/update/delete/condition_check` (IAM authorises a transaction per item);
- receivers are typed from what the source says: `boto3.client(...)`, model classes, annotations
  (`uow: UnitOfWork`, `model: type[R]` with R's bound), constructors, return annotations, loops
  over a query; Powertools' parameters utilities (POWERTOOLS) are calls too; a pynamodb or boto3
  method name (but `get` and `count`, which dicts and lists have too) called on a receiver the
  analysis cannot type (a client passed as a parameter, a lambda's `tx`) is not skipped: it must be
  in UNRESOLVED, which says what it calls (or that it is a dict's);
- the code each function can run: its handler and its service's routes, subscribers or jobs
  (as tests/infra/test_environment.py finds them), then every function, class and module it names,
  the methods its code calls on a typed receiver, and, for an untyped one, the methods of that name
  of every class in use (rapid type analysis). Conditions are not followed: a call on a path the
  function never takes is listed in NEVER_TAKEN with the reason;
- each call site maps to IAM requests as infra/iam.py maps calls at run time: DynamoDB on the
  function's own table (TABLE_NAME: every model is bound to it), index queries on the index; the
  other services' actions must be allowed on some resource (the resource of those calls is checked
  by tests/infra/test_iam.py's per-function cases and, under enforcement, by the e2e tests).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from infra.iam import _ACTION_OF, NO_RESOURCE, Request, evaluate
from infra.template import Stack, load_stack, translate
from tests.infra import test_environment
from tests.infra.test_environment import _decorators, _imports, _modules, roots
from tests.sources import parse

PROJECT_ROOT = Path(__file__).resolve().parents[2]

MODEL_BASE = "pynamodb.models.Model"
INDEX_BASES = {"pynamodb.indexes.GlobalSecondaryIndex", "pynamodb.indexes.LocalSecondaryIndex"}
TRANSACT_WRITE = "pynamodb.transactions.TransactWrite"

# pynamodb's methods and the DynamoDB operation each sends (pynamodb 6).
MODEL_OPERATIONS = {
    "get": "GetItem",
    "query": "Query",
    "scan": "Scan",
    "count": "Query",  # with a hash key; without one it reads DescribeTable's ItemCount
    "batch_get": "BatchGetItem",
    "exists": "DescribeTable",
    "describe_table": "DescribeTable",
}
INDEX_OPERATIONS = {"query": "Query", "scan": "Scan", "count": "Query"}
ITEM_OPERATIONS = {"save": "PutItem", "update": "UpdateItem", "delete": "DeleteItem", "refresh": "GetItem"}
BATCH_OPERATIONS = {"save": "BatchWriteItem", "delete": "BatchWriteItem"}
TRANSACTION_OPERATIONS = {
    "save": "PutItem",
    "update": "UpdateItem",
    "delete": "DeleteItem",
    "condition_check": "ConditionCheckItem",
}
# pynamodb's method names: a call of one on a receiver the analysis cannot type is an unresolved
# call site (UNRESOLVED), as is any boto3 client method's (_boto_method_names). `get` and `count`
# are left out: on an untyped receiver they are a dict's or a list's too often to list.
PYNAMODB_NAMES = {
    "update",
    "delete",
    "query",
    "scan",
    "batch_get",
    "batch_write",
    "save",
    "refresh",
    "condition_check",
    "describe_table",
}
# Powertools' utilities that call AWS (through boto3 clients of their own): function -> the call.
POWERTOOLS = {
    "aws_lambda_powertools.utilities.parameters.get_secret": ("secretsmanager", "GetSecretValue"),
    "aws_lambda_powertools.utilities.parameters.get_secrets_by_name": ("secretsmanager", "BatchGetSecretValue"),
    "aws_lambda_powertools.utilities.parameters.get_parameter": ("ssm", "GetParameter"),
    "aws_lambda_powertools.utilities.parameters.get_parameters": ("ssm", "GetParametersByPath"),
    "aws_lambda_powertools.utilities.parameters.get_parameters_by_name": ("ssm", "GetParameters"),
    "aws_lambda_powertools.utilities.parameters.get_app_config": ("appconfig", "GetLatestConfiguration"),
}
# boto3 client methods that send no request of their own.
NOT_REQUESTS = {"close", "can_paginate", "get_waiter", "meta", "exceptions"}
# Calls the analysis sees a function reach that its role refuses, each on a path the function
# never takes (the analysis does not follow conditions): (function, action) -> why.
NEVER_TAKEN = {
    ("DirectoryJoinFunction", "dynamodb:UpdateItem"): (
        "UnitOfWork.commit adds counter updates only after take_number, which the join never calls; "
        "UnitOfWork.update is reached by name only (`tx.update` in the counter op's lambda)"
    ),
    ("DirectoryJoinFunction", "dynamodb:DeleteItem"): (
        "stage_entries(new=False) deletes the index entries the data no longer makes; linking a login "
        "to an existing user passes the user's unchanged data, so every entry is kept"
    ),
}
BUILTINS = {
    "dict",
    "set",
    "list",
    "frozenset",
    "tuple",
    "str",
    "int",
    "float",
    "bool",
    "bytes",
    "sorted",
    "defaultdict",
    "Counter",
}
WRAPPERS = {"Iterator", "Generator", "Optional", "ContextManager", "AbstractContextManager", "type", "Type"}
UNTYPED = {"typing.Any", "object", "typing.TypeVar"}  # annotations that say nothing of the receiver
PACKAGES = ("shared.", "services.")
PASS_ROLE = Request("iam:PassRole", "*", {"iam:PassedToService": "scheduler.amazonaws.com"})

# Call sites whose client or model cannot be told from the source: (definition, method) -> the
# (service, operation, index) it calls ("*": an index the caller names; () for a dict's or a set's
# method of the same name). A new one fails the test until it is listed here.
Calls = tuple[tuple[str, str, str | None], ...]
NOT_AWS: Calls = ()
QUERY_AN_INDEX: Calls = (("dynamodb", "Query", "*"),)
PUT: Calls = (("dynamodb", "PutItem", None),)
UPDATE: Calls = (("dynamodb", "UpdateItem", None),)
# boto3 client names whose IAM action prefix differs (the service's signing name)
IAM_PREFIXES = {"sesv2": "ses", "pinpoint-sms-voice-v2": "sms-voice"}

UNRESOLVED: dict[tuple[str, str], Calls] = {
    # the audit trail's pages: the table, by_entity or by_actor, the one its caller names
    ("services.audit.trail._query", "query"): (
        ("dynamodb", "Query", None),
        ("dynamodb", "Query", "by_entity"),
        ("dynamodb", "Query", "by_actor"),
    ),
    # DataStore[R]: `model = self.model`, R's `by_type` index (each service's record class has one)
    ("shared.store.DataStore.page_by_type", "query"): (("dynamodb", "Query", "by_type"),),
    ("shared.store.DataStore.all_of_kind", "query"): (("dynamodb", "Query", "by_type"),),
    # the contacts projection's store: an account's contacts by its model's by_parent index
    ("shared.recipients.Recipients.spread_account", "query"): (("dynamodb", "Query", "by_parent"),),
    # ... and a tenant's rows by its model's by_type index (placing rows written before an index)
    ("shared.recipients.Recipients.reindex", "query"): (("dynamodb", "Query", "by_type"),),
    # a send's messages: the record model it is given (email's or sms's), its by_parent index
    ("shared.bulk_send.messages_page", "query"): (("dynamodb", "Query", "by_parent"),),
    # the paging helpers query the index their caller passes
    ("shared.service.partition_page", "query"): QUERY_AN_INDEX,
    ("shared.service._merged_page", "query"): QUERY_AN_INDEX,
    ("shared.service._filtered_records", "query"): QUERY_AN_INDEX,
    # `kontakt tenant reindex` (an operator's credentials): the model it is given, its by_type index
    ("shared.store.resync", "query"): (("dynamodb", "Query", "by_type"),),
    ("shared.due.due_keys", "query"): (("dynamodb", "Query", "by_due"),),  # model.by_due.query
    ("shared.store.resync", "update_item"): UPDATE,
    # an API key's last use: its store's model (the access table), outside the key's version
    ("services.access.store.AccessStore.record_use", "update_item"): UPDATE,
    # UnitOfWork stages each write as a lambda on the transaction it commits (per item in IAM)
    ("shared.store.UnitOfWork.save", "save"): PUT,
    ("shared.store.UnitOfWork.publish", "save"): PUT,
    ("shared.store.UnitOfWork.mark_applied", "save"): PUT,
    ("shared.store.UnitOfWork.update", "update"): UPDATE,
    ("shared.store.UnitOfWork._counter_op", "update"): UPDATE,
    ("shared.store.UnitOfWork._addition_op", "update"): UPDATE,
    ("shared.store.UnitOfWork.check", "condition_check"): (("dynamodb", "ConditionCheckItem", None),),
    # items held in attributes or variables: the idempotency key's, the send rate's
    ("shared.idempotency.Claim.finish", "save"): PUT,
    ("shared.idempotency.Claim.release", "delete"): (("dynamodb", "DeleteItem", None),),
    # a participant listing item the erasure has done with (threads.tickets_of_participant's items)
    ("services.scanner.erasure.erase_contact", "delete"): (("dynamodb", "DeleteItem", None),),
    ("shared.send_rate.SendRate.take", "update"): UPDATE,
    ("services.webhooks.delivery._mark_slow", "update"): UPDATE,  # an endpoint's health item (HealthItem.of)
    # the rotation's client is its caller's (services/email/handlers/link_key_rotation.py)
    ("shared.secrets.rotate_signing_key", "describe_secret"): (("secretsmanager", "DescribeSecret", None),),
    ("shared.secrets.rotate_signing_key", "get_secret_value"): (("secretsmanager", "GetSecretValue", None),),
    ("shared.secrets.rotate_signing_key", "get_random_password"): (("secretsmanager", "GetRandomPassword", None),),
    ("shared.secrets.rotate_signing_key", "put_secret_value"): (("secretsmanager", "PutSecretValue", None),),
    ("shared.secrets.rotate_signing_key", "update_secret_version_stage"): (
        ("secretsmanager", "UpdateSecretVersionStage", None),
    ),
    # dicts and sets
    ("services.activities.call_list.latest._read_rows_in_bulk", "update"): NOT_AWS,
    ("shared.sandbox.BoundedSandbox.__init__", "update"): NOT_AWS,
    ("services.email.domain.transports.merged", "update"): NOT_AWS,
    ("services.email.handlers.routes.tracking.follow", "update"): NOT_AWS,
    ("services.email.transports._Redacted.add", "update"): NOT_AWS,
    ("shared.conventions.with_headers", "update"): NOT_AWS,
    ("shared.ratelimit.document", "update"): NOT_AWS,
}


# ("client", service) | ("model", cls) | ("index", cls, name) | ("item", cls) | ("batch",) | ("tx",)
# | ("obj", cls): an instance of one of our classes | ("ext",): a library's object, a dict, a str ...
Type = tuple[str, ...]


@dataclass(frozen=True)
class Site:
    unit: str  # the definition it is in: module.function, module.Class.method
    line: int
    service: str  # boto3's service name (sesv2, not ses)
    operation: str
    index: str | None = None  # a DynamoDB index
    why: str = ""

    def __str__(self) -> str:
        index = f" on index {self.index}" if self.index else ""
        return f"{self.unit}:{self.line} {self.service}.{self.operation}{index}"


@dataclass
class Unit:
    qualified: str
    module: str
    node: ast.AST
    cls: str | None = None  # the class of a method or a class body
    refs: set[str] = field(default_factory=set)
    attrs: set[str] = field(default_factory=set)  # attributes read on receivers of unknown type
    targeted: set[tuple[str, str]] = field(default_factory=set)  # (class, attribute) on a typed receiver
    sites: list[Site] = field(default_factory=list)
    unresolved: list[tuple[str, str, int]] = field(default_factory=list)  # (unit, method, line)


@dataclass
class ClassInfo:
    qualified: str
    bases: list[str]
    methods: set[str]
    indexes: dict[str, str] = field(default_factory=dict)  # attribute -> index name


@dataclass
class Code:
    units: dict[str, Unit] = field(default_factory=dict)
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    imports: dict[str, dict[str, str]] = field(default_factory=dict)  # module -> local name -> qualified
    modules: set[str] = field(default_factory=set)
    module_env: dict[str, dict[str, Type]] = field(default_factory=dict)  # module -> global name -> type
    typevars: dict[str, str] = field(default_factory=dict)  # `R = TypeVar("R", bound=DataItem)`: R -> DataItem
    fields: dict[str, dict[str, ast.expr]] = field(default_factory=dict)  # class -> `model: type[R]` annotations
    definitions: test_environment.Code = field(default_factory=test_environment.Code)
    index_names: dict[str, str] = field(default_factory=dict)  # index class -> its Meta.index_name
    _local: dict[str, set[str]] = field(default_factory=dict)

    def local_names(self, module: str) -> set[str]:
        """The functions and classes a module defines."""
        if not self._local:
            for name in [*self.units, *self.classes]:
                owner, _, local = name.rpartition(".")
                self._local.setdefault(owner, set()).add(local)
        return self._local.get(module, set())

    def resolve(self, name: str, seen: frozenset[str] = frozenset()) -> str:
        """A qualified name through re-exports (`from services.email.campaigns import x` elsewhere)."""
        if name in self.units or name in self.classes or name in self.modules or name in seen:
            return name
        module, _, local = name.rpartition(".")
        imported = self.imports.get(module, {}).get(local)
        return self.resolve(imported, seen | {name}) if imported else name

    def ancestors(self, cls: str) -> Iterator[str]:
        yield cls
        for base in self.classes[cls].bases if cls in self.classes else []:
            yield from self.ancestors(base)

    def is_model(self, cls: str) -> bool:
        return MODEL_BASE in set(self.ancestors(cls))

    def index_of(self, cls: str, attribute: str) -> str | None:
        return next(
            (
                self.classes[c].indexes[attribute]
                for c in self.ancestors(cls)
                if attribute in self.classes.get(c, _NONE).indexes
            ),
            None,
        )


_NONE = ClassInfo("", [], set())


@cache
def _client_operations(service: str) -> dict[str, str]:
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


@cache
def _boto_method_names() -> frozenset[str]:
    services = ("dynamodb", "sqs", "s3", "events", "scheduler", "secretsmanager", "sesv2")
    return frozenset(
        {name for service in services for name in _client_operations(service)} | {"generate_presigned_url"}
    )


# ---------------------------------------------------------------- reading the source


class _Reader:
    def __init__(self, code: Code, module: str, unit: Unit, factories: dict[str, Type]) -> None:
        self.code, self.module, self.unit, self.factories = code, module, unit, factories
        self.imports = code.imports[module]
        self.local = code.local_names(module)
        self.env: dict[str, Type] = dict(code.module_env.get(module, {}))  # `router = APIRouter()` ...
        self.assigned: set[str] = set()  # the unit's own names (which shadow a module's)

    def qualified(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            if node.id in self.local or f"{self.module}.{node.id}" in self.code.typevars:
                return self.code.resolve(f"{self.module}.{node.id}")
            if node.id in self.imports:
                return self.code.resolve(self.imports[node.id])
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in self.imports:
            owner = self.code.resolve(self.imports[node.value.id])
            if owner in self.code.classes or node.value.id in self.assigned:
                return None  # a class's attribute (`Record.batch_write`), or a local name's
            return self.code.resolve(f"{owner}.{node.attr}")  # a module's function: `boto3.client`
        return None

    def annotation(self, node: ast.expr | None) -> Type | None:
        if node is None:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node = ast.parse(node.value, mode="eval").body
        if isinstance(node, ast.Subscript):
            outer = ast.unparse(node.value).rpartition(".")[2]
            if outer not in WRAPPERS:
                return ("ext",)  # dict[str, Any], list[Record]: a container
            inner = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) else node.slice
            found = self.annotation(inner)  # Iterator[UnitOfWork], Optional[X]: the first argument
            if outer in ("type", "Type"):  # the class itself
                return ("model", found[1]) if found and found[0] == "item" else None
            return found
        if isinstance(node, ast.BinOp):  # X | None
            return self.annotation(node.left) or self.annotation(node.right)
        if isinstance(node, ast.Name) and node.id in BUILTINS:
            return ("ext",)
        name = self.qualified(node)
        name = self.code.typevars.get(name or "", name)
        if name and name not in UNTYPED | {TRANSACT_WRITE, MODEL_BASE} and not name.startswith(PACKAGES):
            return ("ext",)  # datetime, a pydantic model of a library ...
        return self.instance_of(name)

    def instance_of(self, name: str | None) -> Type | None:
        if name == TRANSACT_WRITE:
            return ("tx",)
        if name == MODEL_BASE or (name and name in self.code.classes and self.code.is_model(name)):
            return ("item", name)
        if name and name in self.code.classes:
            return ("obj", name)
        return None

    def returns(self, function: str) -> Type | None:
        unit = self.code.units.get(function)
        node = unit.node if unit else None
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or unit is None:
            return None
        reader = _Reader(self.code, unit.module, unit, self.factories)
        return reader.annotation(node.returns)

    def method(self, cls: str, name: str) -> str | None:
        return next(
            (f"{c}.{name}" for c in self.code.ancestors(cls) if name in self.code.classes.get(c, _NONE).methods), None
        )

    def type_of(self, node: ast.expr) -> Type | None:
        if isinstance(node, ast.Name):
            if node.id in self.env:
                return self.env[node.id]
            name = self.qualified(node)
            return ("model", name) if name in self.code.classes and self.code.is_model(name) else None
        if isinstance(node, ast.Attribute):
            owner = self.type_of(node.value)
            if owner and owner[0] == "model" and (index := self.code.index_of(owner[1], node.attr)):
                return ("index", owner[1], index)
            if owner and owner[0] == "obj":  # an attribute the class declares: `model: type[R]`
                for cls in self.code.ancestors(owner[1]):
                    if node.attr in self.code.fields.get(cls, {}):
                        module = cls.rpartition(".")[0]
                        declared = _Reader(self.code, module, self.code.units[f"{module}.<module>"], self.factories)
                        return declared.annotation(self.code.fields[cls][node.attr])
            if owner is None and (name := self.qualified(node)):
                return ("model", name) if name in self.code.classes and self.code.is_model(name) else None
            return None
        if isinstance(node, ast.Call):
            function = node.func
            name = self.qualified(function)
            if name == "boto3.client" and node.args and isinstance(node.args[0], ast.Constant):
                return ("client", str(node.args[0].value))
            if name == TRANSACT_WRITE:
                return ("tx",)
            if name in self.factories:
                return self.factories[name]
            if name in self.code.classes:
                return self.instance_of(name)
            if name in self.code.units:
                return self.returns(name)
            if name is not None or (isinstance(function, ast.Name) and function.id in BUILTINS):
                return ("ext",)  # a library's function or class, a dict or a set
            if isinstance(function, ast.Attribute):
                owner = self.type_of(function.value)
                if owner and owner[0] == "model" and function.attr == "get":
                    return ("item", owner[1])
                if owner and owner[0] == "model" and function.attr == "batch_write":
                    return ("batch",)
                if owner and owner[0] == "obj" and (method := self.method(owner[1], function.attr)):
                    return self.returns(method)
                if owner and owner[0] == "ext":
                    return ("ext",)
        if isinstance(node, ast.IfExp):  # `Record.by_rank if ... else Record.by_rank_alt`
            body, orelse = self.type_of(node.body), self.type_of(node.orelse)
            if body == orelse:
                return body
            if body and orelse and body[0] == orelse[0] == "index" and body[1] == orelse[1]:
                return ("index", body[1], "*")
            return None
        if isinstance(node, ast.BoolOp):
            return next((t for t in (self.type_of(v) for v in node.values) if t), None)
        if isinstance(
            node,
            ast.Dict | ast.Set | ast.List | ast.DictComp | ast.SetComp | ast.ListComp | ast.Constant | ast.JoinedStr,
        ):
            return ("ext",)
        return None

    def bind(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            found = self.type_of(value)
            if found:
                self.env[target.id] = found
        elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            for t, v in zip(target.elts, value.elts, strict=False):
                self.bind(t, v)

    def read(self) -> None:
        node = self.unit.node
        nodes = list(ast.walk(node))
        self.assigned = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        self.assigned |= {
            a.arg for n in nodes if isinstance(n, ast.arguments) for a in [*n.posonlyargs, *n.args, *n.kwonlyargs]
        }
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            for argument in arguments:
                if (found := self.annotation(argument.annotation)) is not None:
                    self.env[argument.arg] = found
            decorators = {ast.unparse(d) for d in node.decorator_list}
            if self.unit.cls and arguments and "staticmethod" not in decorators:
                first, cls = arguments[0].arg, self.unit.cls
                if self.code.is_model(cls):
                    self.env[first] = ("model" if "classmethod" in decorators else "item", cls)
                elif "classmethod" not in decorators:
                    self.env[first] = ("obj", cls)
        for _ in range(2):  # names bound from names bound earlier
            for item in nodes:
                if isinstance(item, ast.Assign):
                    for target in item.targets:
                        self.bind(target, item.value)
                elif isinstance(item, ast.AnnAssign) and item.value is not None:
                    self.bind(item.target, item.value)
                elif isinstance(item, ast.withitem) and item.optional_vars is not None:
                    self.bind(item.optional_vars, item.context_expr)
                elif isinstance(item, ast.For):
                    source = (
                        self.type_of(item.iter.func.value)
                        if isinstance(item.iter, ast.Call) and isinstance(item.iter.func, ast.Attribute)
                        else None
                    )
                    if source and source[0] in ("model", "index") and isinstance(item.target, ast.Name):
                        self.env[item.target.id] = ("item", source[1])
                elif isinstance(item, ast.Lambda | ast.FunctionDef) and item is not node:
                    for argument in item.args.args:
                        if (found := self.annotation(argument.annotation)) is not None:
                            self.env[argument.arg] = found
        for item in nodes:
            if isinstance(item, ast.Name):
                if name := self.qualified(item):
                    self.unit.refs.add(name)
            elif isinstance(item, ast.Attribute):
                if name := self.qualified(item):
                    self.unit.refs.add(name)
                elif (owner := self.type_of(item.value)) is None and self.qualified(item.value) is None:
                    self.unit.attrs.add(item.attr)
                elif owner and owner[0] == "obj":
                    cls = owner[1]
                    if self.method(cls, item.attr) and "typing.Protocol" not in set(self.code.ancestors(cls)):
                        self.unit.targeted.add((cls, item.attr))
                    else:  # a protocol's, or an attribute the class does not define: any class's
                        self.unit.attrs.add(item.attr)
            if isinstance(item, ast.Call) and (utility := POWERTOOLS.get(self.qualified(item.func) or "")):
                self.unit.sites.append(Site(self.unit.qualified, item.lineno, *utility))
            elif isinstance(item, ast.Call) and isinstance(item.func, ast.Attribute):
                self.call(item, item.func)

    def call(self, call: ast.Call, function: ast.Attribute) -> None:
        owner, method, line = self.type_of(function.value), function.attr, call.lineno
        site = lambda service, operation, index=None: self.unit.sites.append(  # noqa: E731
            Site(self.unit.qualified, line, service, operation, index)
        )
        if owner is None:
            named = method in PYNAMODB_NAMES or method in _boto_method_names()
            receiver = function.value
            local = isinstance(receiver, ast.Name) and receiver.id in self.assigned
            if named and (local or self.qualified(receiver) is None):  # not a module's function
                self.unit.unresolved.append((self.unit.qualified, method, line))
            return
        kind = owner[0]
        if kind == "client":
            service = owner[1]
            if method == "generate_presigned_url":
                client_method = (
                    call.args[0] if call.args else next(k.value for k in call.keywords if k.arg == "ClientMethod")
                )
                assert isinstance(client_method, ast.Constant), f"{self.unit.qualified}:{line}: the signed method"
                site(service, _client_operations(service)[str(client_method.value)])
            elif method == "generate_presigned_post":
                site(service, "PutObject")
            elif method == "get_paginator":
                assert isinstance(call.args[0], ast.Constant), f"{self.unit.qualified}:{line}: the paginated method"
                site(service, _client_operations(service)[str(call.args[0].value)])
            elif method not in NOT_REQUESTS:
                assert method in _client_operations(service), f"{self.unit.qualified}:{line}: {service}.{method}?"
                site(service, _client_operations(service)[method])
        elif kind == "model" and method in MODEL_OPERATIONS:
            site("dynamodb", MODEL_OPERATIONS[method])
        elif kind == "index" and method in INDEX_OPERATIONS:
            site("dynamodb", INDEX_OPERATIONS[method], owner[2])
        elif kind == "item" and method in ITEM_OPERATIONS:
            site("dynamodb", ITEM_OPERATIONS[method])
        elif kind == "batch" and method in BATCH_OPERATIONS:
            site("dynamodb", BATCH_OPERATIONS[method])
        elif kind == "tx" and method in TRANSACTION_OPERATIONS:
            site("dynamodb", TRANSACTION_OPERATIONS[method])


def _units(module: str, tree: ast.Module) -> Iterator[Unit]:
    yield Unit(
        f"{module}.<module>",
        module,
        ast.Module(
            body=[n for n in tree.body if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)],
            type_ignores=[],
        ),
    )
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield Unit(f"{module}.{node.name}", module, node)
        elif isinstance(node, ast.ClassDef):
            qualified = f"{module}.{node.name}"
            methods = [n for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
            body = ast.ClassDef(
                name=node.name,
                bases=node.bases,
                keywords=node.keywords,
                body=[n for n in node.body if n not in methods],
                decorator_list=node.decorator_list,
            )
            yield Unit(qualified, module, body, cls=qualified)
            for method in methods:
                yield Unit(f"{qualified}.{method.name}", module, method, cls=qualified)


def read() -> Code:
    code = Code()
    trees = {module: parse(path.read_text(), str(path)) for module, path in _modules()}
    code.modules = set(trees)
    for module, tree in trees.items():
        code.imports[module] = _imports(tree, module)
        for node in tree.body:  # the entry points' decorators, for test_environment.roots
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                definition = test_environment.Definition(module, node.name, decorators=_decorators(node))
                code.definitions.definitions[f"{module}.{node.name}"] = definition
        for unit in _units(module, tree):
            code.units[unit.qualified] = unit
    for module, tree in trees.items():  # classes, their bases and indexes
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                qualified = f"{module}.{node.name}"
                methods = {n.name for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
                code.classes[qualified] = ClassInfo(qualified, [], methods)
    for module, tree in trees.items():
        reader = _Reader(code, module, Unit("", module, tree), {})
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                info = code.classes[f"{module}.{node.name}"]
                bases = [b.value if isinstance(b, ast.Subscript) else b for b in node.bases]
                info.bases = [b for b in (reader.qualified(base) for base in bases) if b]
    for module, tree in trees.items():  # type variables' bounds, classes' declared attributes
        reader = _Reader(code, module, Unit("", module, tree), {})
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                bound = next((k.value for k in node.value.keywords if k.arg == "bound"), None)
                if reader.qualified(node.value.func) == "typing.TypeVar" and bound is not None:
                    for target in node.targets:
                        if isinstance(target, ast.Name) and (name := reader.qualified(bound)):
                            code.typevars[f"{module}.{target.id}"] = name
            if isinstance(node, ast.ClassDef):
                for meta in node.body:  # an index class's `class Meta: index_name = "by_due"`
                    if isinstance(meta, ast.ClassDef) and meta.name == "Meta":
                        for item in meta.body:
                            if (
                                isinstance(item, ast.Assign)
                                and isinstance(item.value, ast.Constant)
                                and any(isinstance(t, ast.Name) and t.id == "index_name" for t in item.targets)
                            ):
                                code.index_names[f"{module}.{node.name}"] = str(item.value.value)
                code.fields[f"{module}.{node.name}"] = {
                    item.target.id: item.annotation
                    for item in node.body
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                }
    for module, tree in trees.items():  # indexes: `by_type = ByType()` on a model class
        reader = _Reader(code, module, Unit("", module, tree), {})
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.Assign) and isinstance(item.value, ast.Call):
                        made = reader.qualified(item.value.func)
                        if made in code.units and made not in code.classes:  # a function: gsi("by_type", 1)
                            returned = reader.returns(made) or ()
                            made = returned[1] if len(returned) > 1 else None
                        if made and INDEX_BASES & set(code.ancestors(made)):
                            first = item.value.args[0] if item.value.args else None
                            for target in item.targets:
                                if isinstance(target, ast.Name):
                                    name = (
                                        str(first.value)
                                        if isinstance(first, ast.Constant)
                                        else code.index_names.get(made, target.id)
                                    )
                                    code.classes[f"{module}.{node.name}"].indexes[target.id] = name
    factories: dict[str, Type] = {}
    for unit in code.units.values():  # functions that return a client or a transaction
        if isinstance(unit.node, ast.FunctionDef) and unit.cls is None:
            reader = _Reader(code, unit.module, unit, {})
            for item in ast.walk(unit.node):
                if isinstance(item, ast.Return) and item.value is not None:
                    found = reader.type_of(item.value)
                    if found and found[0] in ("client", "tx"):
                        factories[unit.qualified] = found
    for module in code.modules:  # the modules' globals first: the functions' code uses them
        reader = _Reader(code, module, code.units[f"{module}.<module>"], factories)
        reader.read()
        code.module_env[module] = reader.env
    for unit in code.units.values():
        if not unit.qualified.endswith(".<module>"):
            _Reader(code, unit.module, unit, factories).read()
    return code


# ---------------------------------------------------------------- what a function can run


def reached(code: Code, start: Iterable[str]) -> set[str]:
    """The units the roots can run: names they refer to, and the methods of the classes in use that
    are called (or read) by name anywhere in what runs."""
    units: set[str] = set()
    live: set[str] = set()
    attrs: set[str] = set()
    todo = [code.resolve(s) for s in start]
    while todo:
        name = todo.pop()
        if name in code.units and name not in units:
            unit = code.units[name]
            units.add(name)
            todo.append(f"{unit.module}.<module>")
            todo.extend(code.resolve(r) for r in unit.refs)
            new = unit.attrs - attrs
            attrs |= new
            for cls in live:
                todo.extend(f"{cls}.{m}" for m in code.classes[cls].methods & new)
            for cls, attribute in unit.targeted:  # the class's own (or inherited) method, and overrides
                todo.append(cls)
                todo.extend(
                    f"{c}.{attribute}"
                    for c in [*code.ancestors(cls), *live]
                    if attribute in code.classes.get(c, _NONE).methods
                    and (c in set(code.ancestors(cls)) or cls in set(code.ancestors(c)))
                )
        if name in code.classes and name not in live:
            for cls in code.ancestors(name):
                if cls in code.classes and cls not in live:
                    live.add(cls)
                    todo.append(cls)
                    methods = code.classes[cls].methods
                    todo.extend(
                        f"{cls}.{m}" for m in methods if m in attrs or (m.startswith("__") and m.endswith("__"))
                    )
        elif name in code.modules:
            todo.append(f"{name}.<module>")
        elif name not in code.units and name.rpartition(".")[0] in code.modules:  # `handler = entry(...)(f)`
            todo.append(f"{name.rpartition('.')[0]}.<module>")
    return units


# ---------------------------------------------------------------- checking


def _iam_requests(site: Site, table_arn: str | None) -> list[Request]:
    if site.service == "dynamodb":
        resource = f"{table_arn}/index/{site.index}" if site.index else str(table_arn)
        return [Request(f"dynamodb:{site.operation}", resource)]
    prefix = IAM_PREFIXES.get(site.service, site.service)
    if (prefix, site.operation) == ("s3", "CopyObject"):  # IAM has no such action: a read and a write
        return [Request("s3:GetObject", "*"), Request("s3:PutObject", "*")]
    action = f"{prefix}:{_ACTION_OF.get((prefix, site.operation), site.operation)}"
    found = [Request(action, "*")]
    if action in ("scheduler:CreateSchedule", "scheduler:UpdateSchedule"):
        found.append(PASS_ROLE)  # every schedule Kontakt makes names the role the scheduler assumes
    return found


def _resources(statements: list[dict[str, Any]]) -> set[str]:
    found = {"*"}
    for statement in statements:
        value = statement.get("Resource", [])
        found.update(value if isinstance(value, list) else [value])
    return found


def refusals(statements: list[dict[str, Any]], sites: Iterable[Site], table_arn: str | None) -> list[str]:
    """The sites whose requests the statements refuse: on the function's table for DynamoDB, on any
    resource the role names for the other services."""
    resources = _resources(statements)
    found = []
    for site in sites:
        for request in _iam_requests(site, table_arn):
            if request.resource == "*" and request.action not in NO_RESOURCE:
                ok = any(evaluate(statements, Request(request.action, r, request.context)) for r in resources)
            else:
                ok = evaluate(statements, request)
            if not ok:
                found.append(f"{site}: {request.action} on {request.resource}")
    return found


def refused_actions(stack: Stack, function: str, sites: Iterable[Site]) -> list[str]:
    """`refusals` of the function's role, but those NEVER_TAKEN."""
    found = refusals(stack.functions[function].statements, sites, _table_arn(stack, function))
    return [r for r in found if (function, r.split(": ")[1].split(" on ")[0]) not in NEVER_TAKEN]


def sites_of(code: Code, units: set[str]) -> list[Site]:
    found = [site for name in sorted(units) for site in code.units[name].sites]
    for name in sorted(units):
        for unit, method, line in code.units[name].unresolved:
            for service, operation, index in UNRESOLVED.get((unit, method), ()):
                found.append(Site(unit, line, service, operation, index, why="UNRESOLVED"))
    return found


@pytest.fixture(scope="module")
def code() -> Code:
    return read()


@pytest.fixture(scope="module")
def stack() -> Stack:
    return load_stack(PROJECT_ROOT, {"Stage": "dev"})


@pytest.fixture(scope="module")
def function_sites(code: Code, stack: Stack) -> dict[str, list[Site]]:
    return {f: sites_of(code, reached(code, roots(code.definitions, stack, f))) for f in stack.functions}


def _table_arn(stack: Stack, function: str) -> str | None:
    table = stack.functions[function].environment.get("TABLE_NAME")
    return next((t.arn for t in stack.tables.values() if t.name == table), None)


def test_every_unresolved_call_site_is_listed_and_every_listed_one_exists(code: Code) -> None:
    found = {(unit, method) for u in code.units.values() for unit, method, _ in u.unresolved}
    assert found - set(UNRESOLVED) == set(), "call sites the analysis cannot resolve: list them in UNRESOLVED"
    assert set(UNRESOLVED) - found == set(), "UNRESOLVED lists call sites that are gone"


def test_the_analysis_sees_each_kind_of_call(function_sites: dict[str, list[Site]]) -> None:
    def calls(function: str) -> set[tuple[str, str, str | None]]:
        return {(s.service, s.operation, s.index) for s in function_sites[function]}

    assert {("sesv2", "SendEmail", None), ("sesv2", "GetAccount", None), ("s3", "GetObject", None)} <= calls(
        "EmailSenderFunction"
    )
    assert {("events", "PutEvents", None), ("sqs", "SendMessage", None)} <= calls("DirectoryPublisherFunction")
    assert ("s3", "PutObject", None) in calls("DirectoryApiFunction")  # a presigned upload URL
    assert ("dynamodb", "Query", "by_type") in calls("DirectoryApiFunction")  # an index of a model
    assert ("dynamodb", "GetItem", None) in calls("DirectoryApiFunction")  # DataStore.get: `self.model: type[R]`
    assert {("scheduler", "CreateSchedule", None), ("dynamodb", "PutItem", None)} <= calls("EmailApiFunction")
    assert ("secretsmanager", "DescribeSecret", None) in calls("EmailLinkKeyRotationFunction")  # UNRESOLVED
    assert ("secretsmanager", "GetSecretValue", None) in calls("EmailSenderFunction")  # Powertools' get_secret
    token = calls("DirectoryTokenFunction")  # a read-only role: the analysis must not see writes
    assert ("dynamodb", "GetItem", None) in token
    assert not {op for _, op, _ in token} & {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}


@pytest.mark.parametrize("function", sorted(translate(PROJECT_ROOT).code_dirs))
def test_every_call_the_code_can_make_is_allowed_by_the_role(
    stack: Stack, function_sites: dict[str, list[Site]], function: str
) -> None:
    assert refused_actions(stack, function, function_sites[function]) == []


def test_every_call_never_taken_is_still_refused(stack: Stack, function_sites: dict[str, list[Site]]) -> None:
    """NEVER_TAKEN lists only what the check would otherwise report (a grant added, or code gone: drop it)."""
    for function, action in NEVER_TAKEN:
        found = refusals(stack.functions[function].statements, function_sites[function], _table_arn(stack, function))
        assert any(f": {action} on " in r for r in found), (function, action)


def test_a_role_without_one_grant_fails_the_check(stack: Stack, function_sites: dict[str, list[Site]]) -> None:
    """The email API sends to the send queue: without `sqs:SendMessage*` each of those sites is refused."""
    statements = [
        s for s in stack.functions["EmailApiFunction"].statements if "sqs:SendMessage*" not in str(s.get("Action"))
    ]
    refused = refusals(statements, function_sites["EmailApiFunction"], _table_arn(stack, "EmailApiFunction"))
    assert refused and all("sqs:SendMessage on *" in r for r in refused)


def test_a_read_only_role_fails_on_a_write_its_code_can_make(
    stack: Stack, function_sites: dict[str, list[Site]]
) -> None:
    """The sign-up function may PutItem (the pending sign-up) and nothing else that writes."""
    statements = [
        s for s in stack.functions["DirectorySignUpFunction"].statements if s.get("Action") != "dynamodb:PutItem"
    ]
    refused = refusals(
        statements, function_sites["DirectorySignUpFunction"], _table_arn(stack, "DirectorySignUpFunction")
    )
    assert refused and all(": dynamodb:PutItem on arn:aws:dynamodb:" in r for r in refused)
