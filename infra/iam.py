"""IAM as AWS enforces it on a function's calls, for the local runtime.

moto's own IAM enforcement checks the action but passes "*" as the resource for most services
(DynamoDB, Scheduler, EventBridge, Secrets Manager, SES), so a role scoped to one table would pass
a call on another. Here each function worker evaluates its own calls instead:

- `requests(...)` maps one API call to what IAM authorises: one or more (action, resource ARN,
  context) triples, as the Service Authorization Reference spells them (a DynamoDB transaction is
  authorised per item by PutItem/UpdateItem/DeleteItem/ConditionCheckItem/GetItem; SQS batches by
  the single-message actions; S3 HeadObject by s3:GetObject; CreateSchedule passes its role, so it
  needs iam:PassRole with iam:PassedToService too);
- `evaluate(...)` applies a role's statements: an explicit Deny wins, else an Allow whose Action
  (or NotAction), Resource (or NotResource) and Condition match, else the implicit deny;
- `enforce(principal)` installs the check in every botocore session the process creates: a refused
  call fails with the ClientError AWS returns (AccessDenied / AccessDeniedException), and no request
  reaches the emulator. Presigned URLs and POSTs make no request; AWS authorises their later use by
  the signer's role, so they are checked when signed.
"""

from __future__ import annotations

import functools
import io
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

Statement = dict[str, Any]

# Services whose API errors are named AccessDenied (XML/query protocols); JSON protocols say
# AccessDeniedException.
_ACCESS_DENIED = {"s3": "AccessDenied", "sqs": "AccessDenied", "iam": "AccessDenied", "sts": "AccessDenied"}
_STATUS = {"s3": 403, "iam": 403, "sts": 403}

# Calls whose action is another operation's (Service Authorization Reference).
_ACTION_OF = {
    ("sqs", "SendMessageBatch"): "SendMessage",
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
    ("s3", "HeadObject"): "GetObject",
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "PutBucketLifecycleConfiguration"): "PutLifecycleConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "GetLifecycleConfiguration",
}
# Actions that have no resource-level permissions: IAM evaluates them against "*".
NO_RESOURCE = frozenset({"ses:GetAccount", "sqs:ListQueues", "scheduler:ListSchedules", "s3:ListAllMyBuckets"})

_TRANSACT_ITEM_ACTION = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


@dataclass(frozen=True)
class Request:
    """What IAM authorises for (part of) one call."""

    action: str  # service prefix:Action, e.g. dynamodb:PutItem
    resource: str  # an ARN, or "*"
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Principal:
    """A function's role as its worker enforces it (picklable for the worker process)."""

    function_name: str
    role_name: str
    statements: tuple[Statement, ...]
    region: str
    account: str
    secret_arns: Mapping[str, str] = field(default_factory=dict)  # secret name -> ARN

    @property
    def arn(self) -> str:
        return f"arn:aws:sts::{self.account}:assumed-role/{self.role_name}/{self.function_name}"


# ---------------------------------------------------------------- evaluation


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _glob(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM wildcards: `*` any run of characters, `?` one character (no other special characters)."""
    return _compiled(pattern, ignore_case).fullmatch(value) is not None


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """A policy's pattern as a regex, made once: every AWS call of every local function checks its
    role's statements."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE if ignore_case else 0)


def _action_matches(patterns: Iterable[str], action: str) -> bool:
    return any(_glob(p, action, ignore_case=True) for p in patterns)


def _resource_matches(patterns: Iterable[str], resource: str) -> bool:
    return any(p == "*" or _glob(p, resource) for p in patterns)


_OPERATORS = {
    "StringEquals": lambda p, v: p == v,
    "StringNotEquals": lambda p, v: p != v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": lambda p, v: _glob(p, v),
    "StringNotLike": lambda p, v: not _glob(p, v),
    "ArnEquals": lambda p, v: _glob(p, v),
    "ArnLike": lambda p, v: _glob(p, v),
    "ArnNotEquals": lambda p, v: not _glob(p, v),
    "ArnNotLike": lambda p, v: not _glob(p, v),
    "Bool": lambda p, v: p.lower() == v.lower(),
}
_NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def _conditions_match(conditions: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    """Every operator and key must match; a key's values match if any does (all, for negations)."""
    for operator, keys in conditions.items():
        if_exists = operator.endswith("IfExists")
        name = operator.removesuffix("IfExists")
        if name not in _OPERATORS:
            raise ValueError(f"condition operator {operator} is not evaluated locally")
        test = _OPERATORS[name]
        for key, wanted in keys.items():
            actual = next((v for k, v in context.items() if k.lower() == key.lower()), None)
            if actual is None:
                if if_exists or name in _NEGATED:
                    continue
                return False
            values = [str(w) for w in _as_list(wanted)]
            ok = all(test(w, actual) for w in values) if name in _NEGATED else any(test(w, actual) for w in values)
            if not ok:
                return False
    return True


def _statement_matches(statement: Statement, request: Request) -> bool:
    if "Action" in statement:
        if not _action_matches(_as_list(statement["Action"]), request.action):
            return False
    elif _action_matches(_as_list(statement.get("NotAction")), request.action):
        return False
    if "Resource" in statement:
        if not _resource_matches(_as_list(statement["Resource"]), request.resource):
            return False
    elif _resource_matches(_as_list(statement.get("NotResource")), request.resource):
        return False
    return _conditions_match(statement.get("Condition") or {}, request.context)


def evaluate(statements: Iterable[Statement], request: Request) -> bool:
    """Whether the statements allow the request: explicit Deny > Allow > implicit deny."""
    allowed = False
    for statement in statements:
        if _statement_matches(statement, request):
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def refused(statements: Iterable[Statement], requests: Iterable[Request]) -> Request | None:
    """The first request the statements do not allow (None: the call is allowed)."""
    kept = list(statements)
    return next((r for r in requests if not evaluate(kept, r)), None)


# ---------------------------------------------------------------- calls -> requests


def _s3_object(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def requests(
    service: str,
    operation: str,
    params: Mapping[str, Any],
    region: str,
    account: str,
    secret_arns: Mapping[str, str] | None = None,
) -> list[Request]:
    """What IAM authorises for one call (`service`: the IAM service prefix, e.g. ses for sesv2)."""
    base = f"arn:aws:{service}:{region}:{account}"
    action = f"{service}:{_ACTION_OF.get((service, operation), operation)}"
    if service == "dynamodb":
        return _dynamodb(operation, params, base)
    if service == "sqs":
        url = params.get("QueueUrl")
        name = urlparse(url).path.rstrip("/").rsplit("/", 1)[-1] if url else params.get("QueueName", "*")
        return [Request(action, f"{base}:{name}")]
    if service == "s3":
        return _s3(operation, action, params)
    if service == "events" and operation == "PutEvents":
        buses = {str(e.get("EventBusName") or "default") for e in params.get("Entries", [])}
        return [Request(action, b if b.startswith("arn:") else f"{base}:event-bus/{b}") for b in sorted(buses)]
    if service == "scheduler" and "Name" in params:
        schedule = f"{base}:schedule/{params.get('GroupName') or 'default'}/{params['Name']}"
        found = [Request(action, schedule)]
        role = (params.get("Target") or {}).get("RoleArn")
        if role:  # the scheduler assumes it: the caller passes the role
            found.append(Request("iam:PassRole", role, {"iam:PassedToService": "scheduler.amazonaws.com"}))
        return found
    if service == "secretsmanager" and "SecretId" in params:
        secret = str(params["SecretId"])
        arn = secret if secret.startswith("arn:") else (secret_arns or {}).get(secret, f"{base}:secret:{secret}")
        return [Request(action, arn)]
    if service == "secretsmanager" and operation == "CreateSecret":  # the secret it would create
        return [Request(action, f"{base}:secret:{params.get('Name', '*')}")]
    if service == "ses":
        return _ses(operation, action, params, base)
    if service == "sms-voice" and params.get("ConfigurationSetName"):  # what Kontakt sends names its set
        name = str(params["ConfigurationSetName"])
        return [Request(action, name if name.startswith("arn:") else f"{base}:configuration-set/{name}")]
    return [Request(action, "*")]  # NO_RESOURCE, and calls this map does not know: "*" (narrow grants refuse them)


def _dynamodb(operation: str, params: Mapping[str, Any], base: str) -> list[Request]:
    def table(name: str) -> str:
        return name if name.startswith("arn:") else f"{base}:table/{name}"

    if operation == "TransactWriteItems":
        found = []
        for item in params.get("TransactItems", []):
            for kind, spec in item.items():
                found.append(Request(f"dynamodb:{_TRANSACT_ITEM_ACTION[kind]}", table(spec["TableName"])))
        return found
    if operation == "TransactGetItems":
        return [Request("dynamodb:GetItem", table(i["Get"]["TableName"])) for i in params.get("TransactItems", [])]
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return [Request(f"dynamodb:{operation}", table(name)) for name in params.get("RequestItems", {})]
    resource = table(str(params.get("TableName", "*")))
    if params.get("IndexName"):
        resource = f"{resource}/index/{params['IndexName']}"
    return [Request(f"dynamodb:{operation}", resource)]


def _s3(operation: str, action: str, params: Mapping[str, Any]) -> list[Request]:
    bucket = params.get("Bucket", "*")
    if operation == "CopyObject":
        source = params["CopySource"]
        if isinstance(source, Mapping):
            source_arn = _s3_object(source["Bucket"], source["Key"])
        else:
            source_arn = f"arn:aws:s3:::{unquote(str(source).lstrip('/').split('?', 1)[0])}"
        return [Request("s3:GetObject", source_arn), Request("s3:PutObject", _s3_object(bucket, params["Key"]))]
    if "Key" in params:
        return [Request(action, _s3_object(bucket, params["Key"]))]
    return [Request(action, f"arn:aws:s3:::{bucket}")]


def _ses(operation: str, action: str, params: Mapping[str, Any], base: str) -> list[Request]:
    if action in NO_RESOURCE:
        return [Request(action, "*")]
    if operation == "SendEmail":
        sender = str(params.get("FromEmailAddress") or "")
        address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
        found = [Request(action, f"{base}:identity/{address.rpartition('@')[2] or address}")]
        if params.get("ConfigurationSetName"):
            found.append(Request(action, f"{base}:configuration-set/{params['ConfigurationSetName']}"))
        return found
    if "EmailIdentity" in params:
        return [Request(action, f"{base}:identity/{params['EmailIdentity']}")]
    if "ConfigurationSetName" in params:
        return [Request(action, f"{base}:configuration-set/{params['ConfigurationSetName']}")]
    return [Request(action, "*")]


# ---------------------------------------------------------------- in a function's worker


class _NoBody(io.BytesIO):
    def stream(self, **_: Any) -> Iterable[bytes]:
        return iter(())


def denial(principal: Principal, request: Request, service: str) -> dict[str, Any]:
    """The error AWS returns for a refused call (the parsed response botocore raises from)."""
    code = _ACCESS_DENIED.get(service, "AccessDeniedException")
    message = (
        f"User: {principal.arn} is not authorized to perform: {request.action} on resource: {request.resource} "
        f"because no identity-based policy allows the {request.action} action"
    )
    return {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": _STATUS.get(service, 400)},
    }


def _prefix(model: Any) -> str:
    """The IAM service prefix of an operation's service (sesv2 signs as, and is authorised as, ses)."""
    service_model = model.service_model
    return str(service_model.signing_name or service_model.endpoint_prefix)


class _Enforcer:
    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    def check(self, service: str, operation: str, params: Mapping[str, Any]) -> tuple[Request, dict[str, Any]] | None:
        p = self.principal
        found = refused(p.statements, requests(service, operation, params, p.region, p.account, p.secret_arns))
        if found is None:
            return None
        error = denial(p, found, service)
        print(f"[iam] AccessDenied: {error['Error']['Message']}", file=sys.stderr)
        return found, error

    # botocore events

    def before_parameter_build(self, params: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if context.get("is_presign_request"):
            return  # checked by the presign wrappers, which know the key
        result = self.check(_prefix(model), model.name, params)
        if result is not None:
            context["kontakt_iam_denied"] = result[1]

    def before_call(self, context: dict[str, Any], **_: Any) -> Any:
        error = context.pop("kontakt_iam_denied", None)
        if error is None:
            return None
        from botocore.awsrequest import AWSResponse

        http = AWSResponse("https://iam.local", error["ResponseMetadata"]["HTTPStatusCode"], {}, _NoBody())
        return http, error

    def wrap_presigners(self, class_attributes: dict[str, Any], **_: Any) -> None:
        """S3's presign methods: check the grant the URL's later use needs, then sign."""
        from botocore.exceptions import ClientError

        enforcer = self
        presign_url = class_attributes.get("generate_presigned_url")
        presign_post = class_attributes.get("generate_presigned_post")
        if presign_url is None and presign_post is None:
            return

        def refuse(operation: str, params: Mapping[str, Any]) -> None:
            result = enforcer.check("s3", operation, params)
            if result is not None:
                raise ClientError(result[1], operation)

        if presign_url is not None:

            @functools.wraps(presign_url)
            def generate_presigned_url(client: Any, ClientMethod: str, Params: Any = None, **kwargs: Any) -> Any:
                if client.meta.service_model.signing_name == "s3":
                    refuse(client.meta.method_to_api_mapping.get(ClientMethod, ClientMethod), Params or {})
                return presign_url(client, ClientMethod, Params, **kwargs)

            class_attributes["generate_presigned_url"] = generate_presigned_url
        if presign_post is not None:

            @functools.wraps(presign_post)
            def generate_presigned_post(client: Any, Bucket: str, Key: str, *args: Any, **kwargs: Any) -> Any:
                refuse("PutObject", {"Bucket": Bucket, "Key": Key})
                return presign_post(client, Bucket, Key, *args, **kwargs)

            class_attributes["generate_presigned_post"] = generate_presigned_post


def enforce(principal: Principal) -> None:
    """Enforce the principal's role on every AWS call this process makes from now on.

    Registered among botocore's built-in handlers, so every session created afterwards (boto3's
    default, pynamodb's, Powertools') carries it. Call it before any client exists.
    """
    from botocore import handlers

    enforcer = _Enforcer(principal)
    handlers.BUILTIN_HANDLERS.extend(
        [
            ("before-parameter-build", enforcer.before_parameter_build),
            ("before-call", enforcer.before_call, handlers.REGISTER_FIRST),
            ("creating-client-class", enforcer.wrap_presigners, handlers.REGISTER_LAST),
        ]
    )


# ---------------------------------------------------------------- roles in the template


def role_statements(resources: Mapping[str, Any], resolve: Any, function_id: str) -> list[Statement]:
    """The resolved statements of the inline policies of a function's role (`Role: !GetAtt X.Arn`).

    Managed policies (SAM's AWSLambdaBasicExecutionRole and AWSXrayWriteOnlyAccess: logs and
    X-Ray, which the runtime writes for the function) are not evaluated.
    """
    role = (resources[function_id].get("Properties") or {}).get("Role")
    if not (isinstance(role, dict) and "Fn::GetAtt" in role):
        return []
    target = role["Fn::GetAtt"]
    role_id = target[0] if isinstance(target, list) else str(target).split(".", 1)[0]
    found: list[Statement] = []
    for policy in (resources[role_id].get("Properties") or {}).get("Policies") or []:
        document = resolve(policy["PolicyDocument"])
        found.extend(_as_list(document.get("Statement")))
    return found


def role_name(resources: Mapping[str, Any], function_id: str) -> str:
    role = (resources[function_id].get("Properties") or {}).get("Role")
    target = role.get("Fn::GetAtt") if isinstance(role, dict) else None
    return (target[0] if isinstance(target, list) else str(target).split(".", 1)[0]) if target else function_id
