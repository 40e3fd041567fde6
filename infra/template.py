"""Read template.yaml: SAM transform, intrinsic functions, and a typed model of the stack.

Everything the local runtime creates or drives comes from here, so nothing repeats the
template's wiring by hand.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.account import ACCOUNT_ID, REGION
from infra.build import BUILD_DIR
from infra.iam import role_name, role_statements

STACK_NAME = "kontakt"
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"
DUMMY_CODE_URI = "s3://kontakt-local/code.zip"
TEMPLATE_FILE = "template.yaml"

# Resource types that have no local meaning: created neither in the emulator nor modelled.
SKIPPED_TYPES = frozenset(
    {
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::SNS::Topic",  # the alarm topic: alarms are created locally, nothing notifies
        "AWS::SNS::Subscription",
        "AWS::SNS::TopicPolicy",  # SmsInboundTopic's: locally nothing publishes to SNS
        "AWS::Lambda::Permission",
        "AWS::Lambda::Version",
        "AWS::Lambda::Alias",
        "AWS::Lambda::LayerVersion",  # the dependencies' layer: locally the venv provides them
        "AWS::ApiGatewayV2::Authorizer",
        "AWS::Cognito::UserPool",
        "AWS::Cognito::UserPoolClient",
        "AWS::Cognito::UserPoolDomain",
        "AWS::SQS::QueuePolicy",
        "AWS::S3::BucketPolicy",
        "AWS::Logs::LogGroup",
        # SES's inbound mail (the scanner's receipt rule): locally `kontakt dev`'s SMTP listener
        # (infra/smtp_listener.py) writes the mail into the same bucket instead.
        "AWS::SES::ReceiptRuleSet",
        "AWS::SES::ReceiptRule",
        # moto runs a rotation by invoking the function in its own Lambda, not the local runtime's:
        # the rotation function is tested against moto's Secrets Manager (tests/unit/email/test_link_key_rotation.py).
        "AWS::SecretsManager::RotationSchedule",
    }
)

# Values that exist only once the emulator has created a resource (stream ARNs, secret ARNs,
# queue URLs): keyed by (logical id, attribute), "Ref" for Ref.
LateValues = Mapping[tuple[str, str], str]

NO_VALUE = object()


class TemplateError(Exception):
    """The template cannot be translated or resolved."""


# ---------------------------------------------------------------- model


@dataclass
class Table:
    logical_id: str
    name: str
    arn: str
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    global_secondary_indexes: list[dict[str, Any]] = field(default_factory=list)
    local_secondary_indexes: list[dict[str, Any]] = field(default_factory=list)
    stream_view_type: str | None = None
    ttl_attribute: str | None = None
    stream_arn: str | None = None


@dataclass
class Queue:
    logical_id: str
    name: str
    url: str
    arn: str
    visibility_timeout: int
    redrive_policy: dict[str, Any] | None
    attributes: dict[str, str]  # create_queue attributes, RedrivePolicy excluded

    @property
    def dlq_arn(self) -> str | None:
        return self.redrive_policy.get("deadLetterTargetArn") if self.redrive_policy else None


@dataclass
class EventBus:
    logical_id: str
    name: str
    arn: str


@dataclass
class RuleTarget:
    id: str
    arn: str
    input: str | None = None
    input_path: str | None = None


@dataclass
class Rule:
    logical_id: str
    name: str
    arn: str
    bus_name: str
    event_pattern: dict[str, Any] | None
    schedule_expression: str | None
    enabled: bool
    targets: list[RuleTarget]


@dataclass
class QueueNotification:
    queue_arn: str
    events: list[str]
    filter_rules: list[dict[str, str]]  # [{"Name": "prefix", "Value": "uploads/"}]


@dataclass
class Bucket:
    logical_id: str
    name: str
    arn: str
    queue_notifications: list[QueueNotification]
    cors_rules: list[dict[str, Any]] = field(default_factory=list)  # as S3's PutBucketCors takes them


@dataclass
class Secret:
    logical_id: str
    name: str
    description: str
    generate: dict[str, Any] | None
    secret_string: str | None
    arn: str | None = None


@dataclass
class Function:
    logical_id: str
    name: str
    arn: str
    handler: str
    code_dir: str  # where its modules are imported from locally, relative to the project root
    timeout: int
    memory: int
    environment: dict[str, str]
    role: str = ""  # the logical id of its execution role
    statements: list[dict[str, Any]] = field(default_factory=list)  # the role's inline policies, resolved


@dataclass
class EventSourceMapping:
    logical_id: str
    function: str  # logical id
    source_arn: str
    batch_size: int
    batching_window: int
    function_response_types: list[str]
    filters: list[dict[str, Any]]  # parsed FilterCriteria patterns
    bisect_on_error: bool
    max_retry_attempts: int  # -1: until the record expires
    on_failure_arn: str | None
    starting_position: str | None
    enabled: bool
    # SQS: ScalingConfig.MaximumConcurrency, the most invocations Lambda runs at once for the queue
    # (None: as many as it scales to); the local runtime runs that many pumps (infra/runtime.py).
    max_concurrency: int | None = None

    @property
    def kind(self) -> str:
        service = self.source_arn.split(":")[2]
        return "dynamodb" if service == "dynamodb" else service

    @property
    def reports_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.function_response_types


DEFAULT_ROUTE = "$default"  # the HTTP API route taking every request no other route matches


@dataclass
class Route:
    method: str  # GET, POST ... or ANY
    path: str  # /accounts/{proxy+}
    function: str  # logical id
    auth_required: bool
    authorizer: str | None = None  # the name of its Lambda authorizer (Stack.authorizers), if it has one

    @property
    def route_key(self) -> str:
        return self.path if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"


@dataclass(frozen=True)
class Authorizer:
    """An HTTP API Lambda authorizer (`x-amazon-apigateway-authorizer` of type request)."""

    name: str
    function: str  # logical id
    identity_sources: tuple[str, ...]  # `$request.header.Authorization`, `$context.identity.sourceIp`
    ttl_seconds: int
    simple_responses: bool


@dataclass(frozen=True)
class Throttle:
    """An HTTP API stage's throttling of a route: a token bucket of `burst` tokens refilled at `rate` a second."""

    rate: float
    burst: int


@dataclass
class Schedule:
    """A schedule declared in the template: an EventBridge rule or a Scheduler schedule."""

    logical_id: str
    name: str
    arn: str
    expression: str
    timezone: str
    enabled: bool
    target_arn: str
    function: str | None  # logical id when the target is one of the stack's functions
    input: str | None
    kind: str  # "rule" or "scheduler"


@dataclass
class Alarm:
    logical_id: str
    properties: dict[str, Any]


@dataclass
class EventDestination:
    """An SES configuration set's event destination, as SES v2 takes it (EventDestinationDefinition)."""

    name: str
    definition: dict[str, Any]  # Enabled, MatchingEventTypes (SEND, DELIVERY ...), EventBridgeDestination

    @property
    def event_bus_arn(self) -> str | None:
        return (self.definition.get("EventBridgeDestination") or {}).get("EventBusArn")


@dataclass
class ConfigurationSet:
    logical_id: str
    name: str
    arn: str
    options: dict[str, Any]  # SES v2 CreateConfigurationSet options (SendingOptions, ReputationOptions ...)
    event_destinations: list[EventDestination] = field(default_factory=list)


@dataclass
class Stack:
    name: str
    region: str
    account_id: str
    parameters: dict[str, str]
    tables: dict[str, Table] = field(default_factory=dict)
    queues: dict[str, Queue] = field(default_factory=dict)
    buses: dict[str, EventBus] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)
    buckets: dict[str, Bucket] = field(default_factory=dict)
    secrets: dict[str, Secret] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    mappings: dict[str, EventSourceMapping] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    authorizers: dict[str, Authorizer] = field(default_factory=dict)  # the HTTP API's Lambda authorizers
    schedules: dict[str, Schedule] = field(default_factory=dict)
    alarms: dict[str, Alarm] = field(default_factory=dict)
    configuration_sets: dict[str, ConfigurationSet] = field(default_factory=dict)
    email_identities: dict[str, str] = field(default_factory=dict)  # logical id -> domain or address
    sms_configuration_sets: dict[str, str] = field(default_factory=dict)  # logical id -> name (sms_emulation.py)
    schedule_groups: dict[str, str] = field(default_factory=dict)  # logical id -> name
    cors: dict[str, Any] | None = None
    api_id: str = "localapi"
    # The HTTP API stage's throttling: every route's (DefaultRouteSettings), and routes of their own
    # (RouteSettings, by route key such as "ANY /imports").
    throttle: Throttle | None = None
    route_throttles: dict[str, Throttle] = field(default_factory=dict)
    # The function the user pool calls before it issues tokens (its pre-token-generation trigger).
    token_trigger: str | None = None
    signin_trigger: str | None = None  # the user pool's PreAuthentication (also its other sign-in triggers)

    def queue_by_arn(self, arn: str) -> Queue | None:
        return next((q for q in self.queues.values() if q.arn == arn), None)

    def bucket_by_arn(self, arn: str) -> Bucket | None:
        return next((b for b in self.buckets.values() if b.arn == arn), None)

    def function_by_arn(self, arn: str) -> Function | None:
        return next((f for f in self.functions.values() if f.arn == arn), None)

    def function_by_name(self, name: str) -> Function | None:
        return next((f for f in self.functions.values() if f.name == name), None)

    def table_by_stream_arn(self, arn: str) -> Table | None:
        return next((t for t in self.tables.values() if t.stream_arn == arn), None)


# ---------------------------------------------------------------- translation


@dataclass
class TranslatedTemplate:
    """The CloudFormation template after the SAM transform, plus what the transform loses."""

    project_root: Path
    resources: dict[str, Any]
    parameters: dict[str, Any]
    conditions: dict[str, Any]
    code_dirs: dict[str, str]  # function logical id -> local CodeUri, as the template says


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder, from start upwards, that holds template.yaml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / TEMPLATE_FILE).is_file():
            return folder
    raise TemplateError(f"no {TEMPLATE_FILE} in {here} or any parent folder")


# The SAM transform takes 1 to 2 s; a test process translates the same template a dozen times
# (test modules, each runtime it starts): kept per template text, handed out as copies. Across
# processes (each `kontakt dev`, each test worker) the result is kept on disk, by the template's
# text and the translator's version: what the transform makes depends on nothing else.
_translated: dict[tuple[Path, str], TranslatedTemplate] = {}


def translate(project_root: Path) -> TranslatedTemplate:
    """Load template.yaml and run the SAM transform on it (offline)."""
    path = Path(project_root) / TEMPLATE_FILE
    text = path.read_text()
    key = (Path(project_root), text)
    if key not in _translated:
        _translated[key] = _cached_translation(Path(project_root), path, text)
    return copy.deepcopy(_translated[key])


def _cache_file(text: str) -> Path:
    from importlib.metadata import version

    digest = hashlib.sha256(f"{version('aws-sam-translator')}\n{text}".encode()).hexdigest()[:32]
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return home / "kontakt" / f"sam-{digest}.json"


def _cached_translation(project_root: Path, path: Path, text: str) -> TranslatedTemplate:
    cache = _cache_file(text)
    try:
        kept = json.loads(cache.read_text())
        return TranslatedTemplate(
            project_root, kept["resources"], kept["parameters"], kept["conditions"], kept["code_dirs"]
        )
    except (OSError, ValueError, KeyError):
        pass
    translated = _translate(project_root, path, text)
    kept = {
        "resources": translated.resources,
        "parameters": translated.parameters,
        "conditions": translated.conditions,
        "code_dirs": translated.code_dirs,
    }
    try:
        written = json.dumps(kept)
        if json.loads(written) == kept:  # only what JSON keeps whole
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            partial.write_text(written)
            os.replace(partial, cache)  # whole or not at all, whichever process writes it
    except (OSError, TypeError, ValueError):
        pass  # no cache: the next process translates again
    return translated


def _translate(project_root: Path, path: Path, text: str) -> TranslatedTemplate:
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.yaml_helper import yaml_parse

    try:
        raw = yaml_parse(text)
    except Exception as error:
        raise TemplateError(f"{path} is not valid YAML: {error}") from error
    code_dirs = _local_code_dirs(raw)
    sam = _with_dummy_code_uris(raw)
    try:
        session = boto3.session.Session(region_name=REGION)
        translator = Translator({}, Parser(), boto_session=session)
        cfn = translator.translate(sam_template=sam, parameter_values={})
    except Exception as error:  # the translator raises several unrelated types
        raise TemplateError(f"SAM translation of {path} failed: {_describe(error)}") from error
    return TranslatedTemplate(
        project_root=Path(project_root),
        resources=cfn.get("Resources", {}),
        parameters=cfn.get("Parameters", {}),
        conditions=cfn.get("Conditions", {}),
        code_dirs=code_dirs,
    )


def _describe(error: Exception) -> str:
    causes = getattr(error, "causes", None)
    if causes:
        return "; ".join(str(getattr(c, "message", c)) for c in causes)
    return str(getattr(error, "message", error))


def _local_code_dirs(raw: dict[str, Any]) -> dict[str, str]:
    default = raw.get("Globals", {}).get("Function", {}).get("CodeUri", ".")
    dirs = {}
    for logical_id, resource in raw.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            uri = resource.get("Properties", {}).get("CodeUri", default)
            dirs[logical_id] = uri if isinstance(uri, str) and not uri.startswith("s3://") else "."
    return dirs


def source_dir(code_uri: str) -> str:
    """Where a function's code lives in the source tree: a built artifact (build/<name>, see
    infra/build.py) is a copy of part of the project root, so locally it runs from the root."""
    return "." if Path(code_uri).parts[:1] == (BUILD_DIR,) else code_uri


def _with_dummy_code_uris(raw: dict[str, Any]) -> dict[str, Any]:
    """The translator accepts only S3 code locations; local folders are kept in code_dirs."""
    sam = copy.deepcopy(raw)
    function_globals = sam.get("Globals", {}).get("Function")
    if function_globals is not None and "CodeUri" in function_globals:
        function_globals["CodeUri"] = DUMMY_CODE_URI
    for resource in sam.get("Resources", {}).values():
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function":
            if "CodeUri" in props or function_globals is None or "CodeUri" not in function_globals:
                props["CodeUri"] = DUMMY_CODE_URI
            resource["Properties"] = props
        if resource.get("Type") == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = DUMMY_CODE_URI
    return sam


# ---------------------------------------------------------------- intrinsics


class Resolver:
    """Evaluates CloudFormation intrinsic functions with CloudFormation's Ref/GetAtt meaning."""

    def __init__(
        self,
        template: TranslatedTemplate,
        parameters: Mapping[str, str],
        late: LateValues,
        region: str = REGION,
        account_id: str = ACCOUNT_ID,
        stack_name: str = STACK_NAME,
    ) -> None:
        """`region`, `account_id` and `stack_name` change the pseudo parameters and generated names
        only (names as another deployment would resolve them); the ARNs the local runtime builds
        stay in the emulator's region."""
        self.stack_name = stack_name
        self.resources = template.resources
        self.conditions = template.conditions
        self.late = late
        self.parameters = dict(parameters)
        self.list_parameters = {
            name for name, spec in template.parameters.items() if spec.get("Type") == "CommaDelimitedList"
        }
        self.pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{STACK_NAME}/local",
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": URL_SUFFIX,
        }
        self._names: dict[str, str] = {}
        self._condition_values: dict[str, bool] = {}

    # -- public

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            handler = self._functions().get(key)
            if handler is not None:
                return handler(arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def condition(self, name: str) -> bool:
        if name not in self._condition_values:
            if name not in self.conditions:
                raise TemplateError(f"unknown condition {name}")
            self._condition_values[name] = bool(self.resolve(self.conditions[name]))
        return self._condition_values[name]

    def included(self, logical_id: str) -> bool:
        condition = self.resources[logical_id].get("Condition")
        return condition is None or self.condition(condition)

    def name_of(self, logical_id: str) -> str:
        """The physical name of a resource: its name property, or one derived from the stack."""
        if logical_id not in self._names:
            self._names[logical_id] = self._physical_name(logical_id)
        return self._names[logical_id]

    # -- intrinsic functions

    def _functions(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::If": self._if,
            "Fn::Equals": self._equals,
            "Fn::Not": lambda arg: not self.resolve(arg[0]),
            "Fn::And": lambda arg: all(self.resolve(a) for a in arg),
            "Fn::Or": lambda arg: any(self.resolve(a) for a in arg),
            "Condition": self.condition,
            "Fn::GetAZs": lambda _arg: [f"{REGION}a", f"{REGION}b", f"{REGION}c"],
            "Fn::Base64": lambda arg: __import__("base64").b64encode(str(self.resolve(arg)).encode()).decode(),
            "Fn::ToJsonString": lambda arg: json.dumps(self.resolve(arg)),
        }

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            value = self.parameters[name]
            return [v.strip() for v in value.split(",")] if name in self.list_parameters else value
        if name in self.resources:
            return self._ref_resource(name)
        raise TemplateError(f"Ref to unknown name {name}")

    def _get_att(self, arg: Any) -> Any:
        if isinstance(arg, str):
            logical_id, attribute = arg.split(".", 1)
        else:
            logical_id, attribute = arg[0], self.resolve(arg[1])
        if logical_id not in self.resources:
            raise TemplateError(f"GetAtt on unknown resource {logical_id}")
        return self._attribute(logical_id, attribute)

    def _sub(self, arg: Any) -> str:
        variables: dict[str, Any] = {}
        text = arg
        if isinstance(arg, list):
            text, variables = arg[0], {k: self.resolve(v) for k, v in arg[1].items()}

        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in variables:
                return str(variables[token])
            if "." in token and token.split(".", 1)[0] in self.resources:
                return str(self._get_att(token))
            return str(self._ref(token))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def _join(self, arg: list[Any]) -> str:
        delimiter, items = arg[0], self.resolve(arg[1])
        return str(delimiter).join(str(i) for i in items)

    def _select(self, arg: list[Any]) -> Any:
        index, items = int(self.resolve(arg[0])), self.resolve(arg[1])
        return items[index]

    def _split(self, arg: list[Any]) -> list[str]:
        return str(self.resolve(arg[1])).split(arg[0])

    def _if(self, arg: list[Any]) -> Any:
        name, when_true, when_false = arg
        return self.resolve(when_true if self.condition(name) else when_false)

    def _equals(self, arg: list[Any]) -> bool:
        return bool(self.resolve(arg[0]) == self.resolve(arg[1]))

    # -- resource semantics

    def _type(self, logical_id: str) -> str:
        return str(self.resources[logical_id]["Type"])

    def _props(self, logical_id: str) -> dict[str, Any]:
        return dict(self.resources[logical_id].get("Properties") or {})

    def _physical_name(self, logical_id: str) -> str:
        name_property = {
            "AWS::SQS::Queue": "QueueName",
            "AWS::DynamoDB::Table": "TableName",
            "AWS::Events::EventBus": "Name",
            "AWS::Events::Rule": "Name",
            "AWS::S3::Bucket": "BucketName",
            "AWS::SecretsManager::Secret": "Name",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::Scheduler::Schedule": "Name",
            "AWS::Scheduler::ScheduleGroup": "Name",
            "AWS::CloudWatch::Alarm": "AlarmName",
            "AWS::SES::ConfigurationSet": "Name",
            "AWS::SMSVOICE::ConfigurationSet": "ConfigurationSetName",
        }.get(self._type(logical_id))
        props = self.resources[logical_id].get("Properties") or {}
        if name_property and name_property in props:
            return str(self.resolve(props[name_property]))
        generated = f"{self.stack_name}-{logical_id}"
        return generated.lower() if self._type(logical_id) == "AWS::S3::Bucket" else generated

    def _ref_resource(self, logical_id: str) -> str:
        if (logical_id, "Ref") in self.late:
            return self.late[(logical_id, "Ref")]
        kind = self._type(logical_id)
        name = self.name_of(logical_id)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.{URL_SUFFIX}/{ACCOUNT_ID}/{name}"
        if kind == "AWS::SecretsManager::Secret":
            return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:{name}"
        if kind == "AWS::ApiGatewayV2::Api":
            return "localapi"
        if kind == "AWS::Cognito::UserPool":
            return f"{REGION}_local"
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{name}"
        if kind == "AWS::Cognito::UserPoolClient":
            return str(self.parameters.get("JwtAudience", "kontakt"))
        return name

    def _attribute(self, logical_id: str, attribute: str) -> str:
        if (logical_id, attribute) in self.late:
            return self.late[(logical_id, attribute)]
        kind = self._type(logical_id)
        name = self.name_of(logical_id)
        service = kind.split("::")[1].lower()
        scheduler = f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}"
        group = self._group(logical_id) if kind == "AWS::Scheduler::Schedule" else ""
        arns = {
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}",
            "AWS::Events::EventBus": f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/{name}",
            "AWS::Events::Rule": self._rule_arn(logical_id, name),
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}",
            "AWS::Scheduler::Schedule": f"{scheduler}:schedule/{group}/{name}",
            "AWS::Scheduler::ScheduleGroup": f"{scheduler}:schedule-group/{name}",
            "AWS::SecretsManager::Secret": self._ref_resource(logical_id),
            "AWS::SES::ConfigurationSet": f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:configuration-set/{name}",
            "AWS::SMSVOICE::ConfigurationSet": f"arn:aws:sms-voice:{REGION}:{ACCOUNT_ID}:configuration-set/{name}",
        }
        if attribute == "Arn":
            return arns.get(kind, f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{name}")
        if attribute in ("QueueName", "Name"):
            return name
        if attribute == "QueueUrl":
            return self._ref_resource(logical_id)
        if attribute == "StreamArn":
            # Replaced by the emulator's real stream ARN once the table exists.
            return f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}/stream/pending"
        if attribute == "ApiEndpoint":
            return "http://127.0.0.1"
        return f"{logical_id}.{attribute}"

    def _group(self, logical_id: str) -> str:
        group = self._props(logical_id).get("GroupName")
        return str(self.resolve(group)) if group else "default"

    def _rule_arn(self, logical_id: str, name: str) -> str:
        bus = self._props(logical_id).get("EventBusName")
        bus_name = str(self.resolve(bus)).rsplit("/", 1)[-1] if bus else "default"
        prefix = "" if bus_name == "default" else f"{bus_name}/"
        return f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{prefix}{name}"


# ---------------------------------------------------------------- stack


# The values the local runtime (`kontakt dev`, the tests) passes for parameters a deployer must choose
# (no Default in template.yaml): the one place they are kept, as a samconfig.toml would keep a stage's.
# `.test` is reserved for testing (RFC 2606): no mail to or from it can leave.
# The local stack's mail servers (the e2e tests' aiosmtpd, a developer's Mailpit) are on loopback:
# the outbound guard allows it here as a self-hosted stack would allow its relay's network.
LOCAL_PARAMETERS: dict[str, str] = {"SendingDomain": "kontakt.test", "OutboundAllow": "127.0.0.1/32,::1/128"}


def default_parameters(template: TranslatedTemplate, overrides: Mapping[str, str]) -> dict[str, str]:
    """The template's parameters: the overrides, else LOCAL_PARAMETERS, else the template's Default."""
    values = {}
    for name, spec in template.parameters.items():
        if name in overrides:
            values[name] = str(overrides[name])
        elif name in LOCAL_PARAMETERS:
            values[name] = LOCAL_PARAMETERS[name]
        elif "Default" in spec:
            default = spec["Default"]
            values[name] = ",".join(default) if isinstance(default, list) else str(default)
        else:
            raise TemplateError(f"parameter {name} has no default and no value")
        problem = _parameter_problem(spec, values[name])
        if problem:
            raise TemplateError(f"parameter {name}={values[name]!r}: {problem}")
    return values


def _parameter_problem(spec: Mapping[str, Any], value: str) -> str | None:
    """What CloudFormation would refuse in a parameter's value (its constraints), or None."""
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return "not a number"
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return f"below {spec['MinValue']}"
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return f"above {spec['MaxValue']}"
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [str(v) for v in allowed]:
        return f"not one of {allowed}"
    if spec.get("Type") == "String":
        if "MinLength" in spec and len(value) < int(spec["MinLength"]):
            return f"shorter than {spec['MinLength']}"
        if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
            return f"longer than {spec['MaxLength']}"
        if "AllowedPattern" in spec and not re.fullmatch(str(spec["AllowedPattern"]), value):
            return str(spec.get("ConstraintDescription") or f"does not match {spec['AllowedPattern']}")
    return None


def build_stack(
    template: TranslatedTemplate,
    parameters: Mapping[str, str] | None = None,
    late: LateValues | None = None,
) -> Stack:
    """The typed stack, with every intrinsic resolved. Call again with late values once known."""
    params = default_parameters(template, parameters or {})
    resolver = Resolver(template, params, late or {})
    stack = Stack(name=STACK_NAME, region=REGION, account_id=ACCOUNT_ID, parameters=params)
    builders: dict[str, Callable[[Stack, Resolver, str, dict[str, Any]], None]] = {
        "AWS::DynamoDB::Table": _add_table,
        "AWS::SQS::Queue": _add_queue,
        "AWS::Events::EventBus": _add_bus,
        "AWS::Events::Rule": _add_rule,
        "AWS::S3::Bucket": _add_bucket,
        "AWS::SecretsManager::Secret": _add_secret,
        "AWS::Lambda::Function": lambda s, r, i, p: _add_function(s, r, i, p, template.code_dirs),
        "AWS::Lambda::EventSourceMapping": _add_mapping,
        "AWS::ApiGatewayV2::Api": _add_http_api,
        "AWS::ApiGatewayV2::Stage": _add_http_api_stage,
        "AWS::Scheduler::Schedule": _add_scheduler_schedule,
        "AWS::Scheduler::ScheduleGroup": lambda s, r, i, p: s.schedule_groups.update({i: r.name_of(i)}),
        "AWS::CloudWatch::Alarm": _add_alarm,
        "AWS::SES::ConfigurationSet": _add_configuration_set,
        "AWS::SES::EmailIdentity": _add_email_identity,
        "AWS::SMSVOICE::ConfigurationSet": lambda s, r, i, p: s.sms_configuration_sets.update({i: r.name_of(i)}),
    }
    destinations: list[tuple[str, EventDestination]] = []
    unknown = []
    for logical_id, resource in template.resources.items():
        kind = resource["Type"]
        if kind == "AWS::Cognito::UserPool" and resolver.included(logical_id):
            stack.token_trigger = _token_trigger(resource.get("Properties") or {})
            stack.signin_trigger = _trigger_function(
                ((resource.get("Properties") or {}).get("LambdaConfig") or {}).get("PreAuthentication")
            )
        if kind in SKIPPED_TYPES or not resolver.included(logical_id):
            continue
        properties = resolver.resolve(resource.get("Properties") or {})
        if kind == "AWS::SES::ConfigurationSetEventDestination":  # linked once every set is known
            destinations.append(_event_destination(logical_id, properties))
            continue
        builder = builders.get(kind)
        if builder is None:
            unknown.append(f"{logical_id} ({kind})")
            continue
        builder(stack, resolver, logical_id, properties)
    if unknown:
        raise TemplateError("resource types the local runtime does not know: " + ", ".join(unknown))
    _link_schedules(stack)
    _link_event_destinations(stack, destinations)
    return stack


def _token_trigger(properties: dict[str, Any]) -> str | None:
    """The logical id of the user pool's pre-token-generation function, if it has one."""
    config = properties.get("LambdaConfig") or {}
    arn = (config.get("PreTokenGenerationConfig") or {}).get("LambdaArn") or config.get("PreTokenGeneration")
    return _trigger_function(arn)


def _trigger_function(arn: Any) -> str | None:
    """The logical id of the function a user pool's trigger ARN (`Fn::GetAtt`) names."""
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        target = arn["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else target.split(".")[0])
    return None


def load_stack(project_root: Path, parameters: Mapping[str, str] | None = None) -> Stack:
    return build_stack(translate(project_root), parameters)


def _add_table(stack: Stack, r: Resolver, logical_id: str, p: dict[str, Any]) -> None:
    ttl = p.get("TimeToLiveSpecification") or {}
    stream = p.get("StreamSpecification") or {}
    stack.tables[logical_id] = Table(
        logical_id=logical_id,
        name=r.name_of(logical_id),
        arn=r._attribute(logical_id, "Arn"),
        key_schema=p["KeySchema"],
        attribute_definitions=p.get("AttributeDefinitions", []),
        global_secondary_indexes=p.get("GlobalSecondaryIndexes", []),
        local_secondary_indexes=p.get("LocalSecondaryIndexes", []),
        stream_view_type=stream.get("StreamViewType"),
        ttl_attribute=ttl.get("AttributeName") if ttl.get("Enabled") else None,
        stream_arn=r._attribute(logical_id, "StreamArn") if stream else None,
    )


def _add_queue(stack: Stack, r: Resolver, logical_id: str, p: dict[str, Any]) -> None:
    redrive = p.get("RedrivePolicy")
    if isinstance(redrive, str):
        redrive = json.loads(redrive)
    attribute_names = {
        "VisibilityTimeout",
        "MessageRetentionPeriod",
        "DelaySeconds",
        "MaximumMessageSize",
        "ReceiveMessageWaitTimeSeconds",
        "FifoQueue",
        "ContentBasedDeduplication",
    }
    attributes = {k: _attribute_text(v) for k, v in p.items() if k in attribute_names}
    stack.queues[logical_id] = Queue(
        logical_id=logical_id,
        name=r.name_of(logical_id),
        url=r._ref_resource(logical_id),
        arn=r._attribute(logical_id, "Arn"),
        visibility_timeout=int(p.get("VisibilityTimeout", 30)),
        redrive_policy=redrive,
        attributes=attributes,
    )


def _attribute_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _add_bus(stack: Stack, r: Resolver, logical_id: str, p: dict[str, Any]) -> None:
    stack.buses[logical_id] = EventBus(
        logical_id=logical_id, name=r.name_of(logical_id), arn=r._attribute(logical_id, "Arn")
    )


def _add_rule(stack: Stack, r: Resolver, logical_id: str, p: dict[str, Any]) -> None:
    pattern = p.get("EventPattern")
    if isinstance(pattern, str):
        pattern = json.loads(pattern)
    bus = str(p.get("EventBusName", "default")).rsplit("/", 1)[-1]
    targets = [
        RuleTarget(id=t["Id"], arn=t["Arn"], input=t.get("Input"), input_path=t.get("InputPath"))
        for t in p.get("Targets", [])
    ]
    rule = Rule(
        logical_id=logical_id,
        name=r.name_of(logical_id),
        arn=r._attribute(logical_id, "Arn"),
        bus_name=bus,
        event_pattern=pattern,
        schedule_expression=p.get("ScheduleExpression"),
        enabled=p.get("State", "ENABLED") == "ENABLED",
        targets=targets,
    )
    stack.rules[logical_id] = rule
    if rule.schedule_expression:
        for target in targets:
            stack.schedules[f"{logical_id}:{target.id}"] = Schedule(
                logical_id=logical_id,
                name=rule.name,
                arn=rule.arn,
                expression=rule.schedule_expression,
                timezone="UTC",
                enabled=rule.enabled,
                target_arn=target.arn,
                function=None,
                input=target.input,
                kind="rule",
            )


def _add_bucket(stack: Stack, r: Resolver, logical_id: str, p: dict[str, Any]) -> None:
    notifications = []
    for config in (p.get("NotificationConfiguration") or {}).get("QueueConfigurations", []):
        rules = ((config.get("Filter") or {}).get("S3Key") or {}).get("Rules", [])
        notifications.append(QueueNotification(queue_arn=config["Queue"], events=[config["Event"]], filter_rules=rules))
    stack.buckets[logical_id] = Bucket(
        logical_id=logical_id,
        name=r.name_of(logical_id),
        arn=r._attribute(logical_id, "Arn"),
        queue_notifications=notifications,
        cors_rules=[_cors_rule(rule) for rule in (p.get("CorsConfiguration") or {}).get("CorsRules", [])],
    )


# CloudFormation's CorsRule names that S3's API spells otherwise.
_CORS_NAMES = {"Id": "ID", "MaxAge": "MaxAgeSeconds", "ExposedHeaders": "ExposeHeaders"}


def _cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    return {_CORS_NAMES.get(k, k): v for k, v in rule.items()}


def _add_secret(stack: Stack, r: Resolver, logical_id: str, p: dict[str, Any]) -> None:
    stack.secrets[logical_id] = Secret(
        logical_id=logical_id,
        name=r.name_of(logical_id),
        description=p.get("Description", ""),
        generate=p.get("GenerateSecretString"),
        secret_string=p.get("SecretString"),
        arn=r.late.get((logical_id, "Ref")),
    )


def _add_function(stack: Stack, r: Resolver, logical_id: str, p: dict[str, Any], code_dirs: Mapping[str, str]) -> None:
    variables = (p.get("Environment") or {}).get("Variables") or {}
    stack.functions[logical_id] = Function(
        logical_id=logical_id,
        name=r.name_of(logical_id),
        arn=r._attribute(logical_id, "Arn"),
        handler=p["Handler"],
        code_dir=source_dir(code_dirs.get(logical_id, ".")),
        timeout=int(p.get("Timeout", 3)),
        memory=int(p.get("MemorySize", 128)),
        environment={k: _attribute_text(v) for k, v in variables.items()},
        role=role_name(r.resources, logical_id),
        statements=role_statements(r.resources, r.resolve, logical_id),
    )


def _add_mapping(stack: Stack, r: Resolver, logical_id: str, p: dict[str, Any]) -> None:
    source_arn = str(p["EventSourceArn"])
    is_queue = source_arn.split(":")[2] == "sqs"
    filters = [json.loads(f["Pattern"]) for f in (p.get("FilterCriteria") or {}).get("Filters", [])]
    on_failure = ((p.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    function_name = str(p["FunctionName"]).rsplit(":", 1)[-1]
    function_id = _function_logical_id(r, function_name)
    stack.mappings[logical_id] = EventSourceMapping(
        logical_id=logical_id,
        function=function_id,
        source_arn=source_arn,
        batch_size=int(p.get("BatchSize", 10 if is_queue else 100)),
        batching_window=int(p.get("MaximumBatchingWindowInSeconds", 0)),
        function_response_types=list(p.get("FunctionResponseTypes", [])),
        filters=filters,
        bisect_on_error=bool(p.get("BisectBatchOnFunctionError", False)),
        max_retry_attempts=int(p.get("MaximumRetryAttempts", -1)),
        on_failure_arn=on_failure,
        starting_position=p.get("StartingPosition"),
        enabled=bool(p.get("Enabled", True)),
        max_concurrency=_max_concurrency(p),
    )


def _max_concurrency(p: dict[str, Any]) -> int | None:
    value = (p.get("ScalingConfig") or {}).get("MaximumConcurrency")
    return int(value) if value is not None else None


def _function_logical_id(r: Resolver, function_name: str) -> str:
    for logical_id, resource in r.resources.items():
        if resource["Type"] == "AWS::Lambda::Function" and r.name_of(logical_id) == function_name:
            return logical_id
    raise TemplateError(f"no function named {function_name} in the template")


_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def _add_http_api(stack: Stack, r: Resolver, logical_id: str, p: dict[str, Any]) -> None:
    raw_body = (r.resources[logical_id].get("Properties") or {}).get("Body") or {}
    body = p.get("Body") or {}
    stack.api_id = r._ref_resource(logical_id)
    stack.cors = body.get("x-amazon-apigateway-cors")
    default_security = body.get("security")
    schemes = (raw_body.get("components") or {}).get("securitySchemes") or {}
    for name, scheme in schemes.items():
        authorizer = _lambda_authorizer(name, scheme.get("x-amazon-apigateway-authorizer") or {})
        if authorizer is not None:
            stack.authorizers[name] = authorizer
    for path, operations in raw_body.get("paths", {}).items():
        for operation_key, operation in operations.items():
            if operation_key == "x-amazon-apigateway-any-method":
                method = "ANY"
            elif operation_key in _METHODS:
                method = operation_key.upper()
            else:
                continue
            integration = operation.get("x-amazon-apigateway-integration") or {}
            function_id = _integration_function(integration.get("uri"))
            if function_id is None:
                continue
            security = operation.get("security", default_security)
            named = [n for requirement in security or [] for n in requirement if n in stack.authorizers]
            route = Route(method, path, function_id, _needs_auth(security), named[0] if named else None)
            stack.routes.append(route)


def _lambda_authorizer(name: str, spec: Mapping[str, Any]) -> Authorizer | None:
    """A request authorizer calling a function of the template (None for a JWT authorizer)."""
    function_id = _integration_function(spec.get("authorizerUri"))
    if spec.get("type") != "request" or function_id is None:
        return None
    if str(spec.get("authorizerPayloadFormatVersion")) != "2.0":
        raise TemplateError(f"authorizer {name}: only payload format 2.0 is emulated")
    sources = tuple(part.strip() for part in str(spec.get("identitySource") or "").split(",") if part.strip())
    return Authorizer(
        name=name,
        function=function_id,
        identity_sources=sources,
        ttl_seconds=int(spec.get("authorizerResultTtlInSeconds", 300)),
        simple_responses=bool(spec.get("enableSimpleResponses", False)),
    )


def _add_http_api_stage(stack: Stack, r: Resolver, logical_id: str, p: dict[str, Any]) -> None:
    """The stage's throttling, which the local gateway enforces as API Gateway does."""
    stack.throttle = _throttle(p.get("DefaultRouteSettings") or {})
    for route_key, settings in (p.get("RouteSettings") or {}).items():
        throttle = _throttle(settings)
        if throttle is not None:
            stack.route_throttles[route_key] = throttle


def _throttle(settings: Mapping[str, Any]) -> Throttle | None:
    if "ThrottlingRateLimit" not in settings and "ThrottlingBurstLimit" not in settings:
        return None
    return Throttle(
        rate=float(settings.get("ThrottlingRateLimit", 0)), burst=int(settings.get("ThrottlingBurstLimit", 0))
    )


def _integration_function(uri: Any) -> str | None:
    """The function a Lambda proxy integration calls: `${Fn.Arn}` in the (unresolved) URI."""
    text = uri.get("Fn::Sub") if isinstance(uri, dict) else uri
    if isinstance(text, list):
        text = text[0]
    match = re.search(r"\$\{(\w+)\.Arn\}", str(text))
    return match.group(1) if match else None


def _needs_auth(security: Any) -> bool:
    # SAM writes `security: [{NONE: []}]` for `Auth: {Authorizer: NONE}`.
    if not security:
        return False
    return any(name != "NONE" for requirement in security for name in requirement)


def _add_scheduler_schedule(stack: Stack, r: Resolver, logical_id: str, p: dict[str, Any]) -> None:
    target = p.get("Target") or {}
    stack.schedules[logical_id] = Schedule(
        logical_id=logical_id,
        name=r.name_of(logical_id),
        arn=r._attribute(logical_id, "Arn"),
        expression=p["ScheduleExpression"],
        timezone=p.get("ScheduleExpressionTimezone", "UTC"),
        enabled=p.get("State", "ENABLED") == "ENABLED",
        target_arn=str(target.get("Arn", "")),
        function=None,
        input=target.get("Input"),
        kind="scheduler",
    )


def _add_alarm(stack: Stack, r: Resolver, logical_id: str, p: dict[str, Any]) -> None:
    stack.alarms[logical_id] = Alarm(logical_id=logical_id, properties={"AlarmName": r.name_of(logical_id), **p})


# CreateConfigurationSet options SES v2 takes as CloudFormation spells them.
_CONFIGURATION_SET_OPTIONS = (
    "TrackingOptions",
    "DeliveryOptions",
    "ReputationOptions",
    "SendingOptions",
    "SuppressionOptions",
)


def _add_configuration_set(stack: Stack, r: Resolver, logical_id: str, p: dict[str, Any]) -> None:
    stack.configuration_sets[logical_id] = ConfigurationSet(
        logical_id=logical_id,
        name=r.name_of(logical_id),
        arn=r._attribute(logical_id, "Arn"),
        options={k: p[k] for k in _CONFIGURATION_SET_OPTIONS if k in p},
    )


def _add_email_identity(stack: Stack, r: Resolver, logical_id: str, p: dict[str, Any]) -> None:
    stack.email_identities[logical_id] = str(p["EmailIdentity"])


def _event_destination(logical_id: str, p: dict[str, Any]) -> tuple[str, EventDestination]:
    """(configuration set name, destination). Only EventBridge destinations are emulated locally."""
    spec = p.get("EventDestination") or {}
    definition: dict[str, Any] = {
        "Enabled": bool(spec.get("Enabled", False)),
        "MatchingEventTypes": [_upper_snake(t) for t in spec.get("MatchingEventTypes", [])],
    }
    if spec.get("EventBridgeDestination"):
        definition["EventBridgeDestination"] = {"EventBusArn": spec["EventBridgeDestination"]["EventBusArn"]}
    return str(p["ConfigurationSetName"]), EventDestination(
        name=str(spec.get("Name") or logical_id), definition=definition
    )


def _upper_snake(event_type: str) -> str:
    """CloudFormation's `renderingFailure` is SES v2's `RENDERING_FAILURE`."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", event_type).upper()


def _link_event_destinations(stack: Stack, destinations: list[tuple[str, EventDestination]]) -> None:
    by_name = {c.name: c for c in stack.configuration_sets.values()}
    for set_name, destination in destinations:
        if set_name not in by_name:
            raise TemplateError(f"event destination {destination.name}: no configuration set {set_name}")
        by_name[set_name].event_destinations.append(destination)


def _link_schedules(stack: Stack) -> None:
    for schedule in stack.schedules.values():
        function = stack.function_by_arn(schedule.target_arn)
        schedule.function = function.logical_id if function else None
