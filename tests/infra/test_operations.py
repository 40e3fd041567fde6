"""What an operator gets from template.yaml, read on the SAM-translated template (issue 12 section 5):
names that let stages and regions deploy side by side, event sources sized to their functions,
data that survives a stack's deletion, logs, alarms and throttling, browser uploads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.template import Resolver, TemplateError, TranslatedTemplate, build_stack, default_parameters, translate

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"

# The property that names a resource, and where AWS scopes the name: "global" (the partition:
# S3 buckets, IAM, Cognito domains) or "regional" (the account's region). Types absent here get a
# name CloudFormation generates from the stack's name (unique per stack).
NAMED = {
    "AWS::S3::Bucket": ("BucketName", "global"),
    "AWS::IAM::Role": ("RoleName", "global"),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName", "global"),
    "AWS::Cognito::UserPoolDomain": ("Domain", "global"),
    "AWS::SQS::Queue": ("QueueName", "regional"),
    "AWS::DynamoDB::Table": ("TableName", "regional"),
    "AWS::Events::EventBus": ("Name", "regional"),
    "AWS::Events::Rule": ("Name", "regional"),
    "AWS::SecretsManager::Secret": ("Name", "regional"),
    "AWS::Lambda::Function": ("FunctionName", "regional"),
    "AWS::Scheduler::Schedule": ("Name", "regional"),
    "AWS::Scheduler::ScheduleGroup": ("Name", "regional"),
    "AWS::SES::ConfigurationSet": ("Name", "regional"),
    "AWS::SES::EmailIdentity": ("EmailIdentity", "regional"),
    "AWS::Logs::LogGroup": ("LogGroupName", "regional"),
    "AWS::SNS::Topic": ("TopicName", "regional"),
    "AWS::CloudWatch::Alarm": ("AlarmName", "regional"),
}

# AWS's limits on those names (characters).
LIMITS = {
    "AWS::S3::Bucket": 63,
    "AWS::IAM::Role": 64,
    "AWS::IAM::ManagedPolicy": 128,
    "AWS::Cognito::UserPoolDomain": 63,
    "AWS::Cognito::UserPool": 128,
    "AWS::Cognito::UserPoolClient": 128,
    "AWS::SQS::Queue": 80,
    "AWS::DynamoDB::Table": 255,
    "AWS::Events::EventBus": 256,
    "AWS::Events::Rule": 64,
    "AWS::SecretsManager::Secret": 512,
    "AWS::Lambda::Function": 64,
    "AWS::Scheduler::Schedule": 64,
    "AWS::Scheduler::ScheduleGroup": 64,
    "AWS::SES::ConfigurationSet": 64,
    "AWS::SES::EmailIdentity": 253,
    "AWS::Logs::LogGroup": 512,
    "AWS::SNS::Topic": 256,
    "AWS::CloudWatch::Alarm": 255,
}
NAME_PROPERTIES = {**{t: p for t, (p, _) in NAMED.items()}, "AWS::Cognito::UserPool": "UserPoolName"}
NAME_PROPERTIES["AWS::Cognito::UserPoolClient"] = "ClientName"

LONGEST_REGION = "ap-southeast-4"  # 14 characters, as long as any region's name
S3_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


@pytest.fixture(scope="module")
def template() -> TranslatedTemplate:
    return translate(ROOT)


def _resources(template: TranslatedTemplate, kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template.resources.items() if r["Type"] == kind}


def _names(template: TranslatedTemplate, stage: str, region: str, stack: str) -> Iterator[tuple[str, str, str]]:
    """(type, logical id, physical name) of every resource the template names (not those whose name
    CloudFormation generates: stack name, logical id and a random suffix), as that deployment
    resolves them."""
    parameters = default_parameters(template, {"Stage": stage, "SendingDomain": f"mail-{stage}.example.com"})
    resolver = Resolver(template, parameters, {}, region=region, account_id=ACCOUNT, stack_name=stack)
    for logical_id, resource in template.resources.items():
        prop = NAME_PROPERTIES.get(resource["Type"])
        if prop is None or prop not in (resource.get("Properties") or {}) or not resolver.included(logical_id):
            continue
        yield resource["Type"], logical_id, str(resolver.resolve(resource["Properties"][prop]))


# ---------------------------------------------------------------- names


def test_two_stages_and_two_regions_deploy_side_by_side(template: TranslatedTemplate) -> None:
    """dev and qa in one region (two stacks), and dev in a second region: no name any two of them
    would both claim, where AWS scopes it (buckets across the partition, the rest per region)."""
    deployments = {
        ("dev", "eu-north-1"): list(_names(template, "dev", "eu-north-1", "kontakt-dev")),
        ("qa", "eu-north-1"): list(_names(template, "qa", "eu-north-1", "kontakt-qa")),
        ("dev", "us-east-1"): list(_names(template, "dev", "us-east-1", "kontakt-dev")),
    }
    claimed: dict[tuple[str, str, str], tuple[tuple[str, str], str]] = {}
    collisions = []
    for deployment, names in deployments.items():
        for kind, logical_id, name in names:
            if kind not in NAMED:
                continue  # (user pool and client names need not be unique)
            scope = "global" if NAMED[kind][1] == "global" else deployment[1]
            key = (kind, scope, name)
            if key in claimed and claimed[key][0] != deployment:
                collisions.append(f"{kind} {name}: {claimed[key]} and {(deployment, logical_id)}")
            claimed.setdefault(key, (deployment, logical_id))
    assert not collisions, collisions
    buckets = [n for k, _, n in deployments[("dev", "us-east-1")] if k == "AWS::S3::Bucket"]
    assert buckets and all("-dev-us-east-1-" in n for n in buckets)


def test_every_name_the_template_sets_carries_the_stage(template: TranslatedTemplate) -> None:
    explicit = [
        (logical_id, name)
        for kind, logical_id, name in _names(template, "zq9", "eu-north-1", "kontakt-zq9")
        if kind not in ("AWS::SES::EmailIdentity", "AWS::Logs::LogGroup")  # a domain; /aws/lambda/<function>
    ]
    assert len(explicit) > 20
    assert [n for n in explicit if "zq9" not in n[1]] == []


def test_the_longest_stage_fits_every_name(template: TranslatedTemplate) -> None:
    spec = template.parameters["Stage"]
    pattern = re.compile(spec["AllowedPattern"])
    longest = ("a-" * 20)[: int(spec["MaxLength"]) - 1] + "z"
    assert len(longest) == int(spec["MaxLength"]) and pattern.fullmatch(longest)
    for ok in ("dev", "prod", "qa-eu", "x", "stage2"):
        assert pattern.fullmatch(ok), ok
    for refused in ("Dev", "-dev", "dev-", "dev_1", "2dev", ""):
        assert not pattern.fullmatch(refused), refused
    for refused in ("Dev", "dev_1", "a" * (len(longest) + 1)):  # the local runtime refuses what CloudFormation would
        with pytest.raises(TemplateError):
            build_stack(template, {"Stage": refused})
    too_long = []
    closest: dict[str, tuple[int, str]] = {}
    for kind, logical_id, name in _names(template, longest, LONGEST_REGION, f"kontakt-{longest}"):
        if kind == "AWS::S3::Bucket":
            assert S3_NAME.fullmatch(name), name
        limit = LIMITS[kind]
        if len(name) > limit:
            too_long.append(f"{logical_id}: {name} ({len(name)} > {limit})")
        closest[kind] = max(closest.get(kind, (0, "")), (len(name), name))
    assert not too_long, too_long
    print(f"\nlongest names with Stage={longest!r} in {LONGEST_REGION}:")
    for kind, (length, name) in sorted(closest.items()):
        print(f"  {kind:30} {length:3}/{LIMITS[kind]:<3} {name}")


# ---------------------------------------------------------------- event sources


def test_every_queue_hides_a_message_six_times_its_function_timeout(template: TranslatedTemplate) -> None:
    stack = build_stack(template)
    checked = []
    for mapping in stack.mappings.values():
        if mapping.kind != "sqs":
            continue
        queue = stack.queue_by_arn(mapping.source_arn)
        function = stack.functions[mapping.function]
        assert queue is not None
        needed = 6 * function.timeout + mapping.batching_window
        assert queue.visibility_timeout >= needed, (
            f"{queue.name}: {queue.visibility_timeout}s < 6 x {function.timeout}s"
        )
        checked.append(queue.logical_id)
        ratio = queue.visibility_timeout / function.timeout
        print(f"\n  {queue.logical_id:24} {queue.visibility_timeout:5}s / {function.timeout:3}s = {ratio:.1f}x", end="")
    # Webhooks: Events, Delivery, Slow, Jobs queues (issue 20); Scanner: Events, Inbound (21);
    # Invoicing: Events, Jobs (22); Workflows: Events, Jobs (23); Audit: Events (23); Directory: Scans (24)
    assert len(checked) == 25


def test_the_senders_fit_the_ses_rate_within_their_timeout(template: TranslatedTemplate) -> None:
    """At most SenderConcurrency senders, batches of 10: at the sandbox rate (1 mail a second) a
    batch waits for at most every sender's batch, and that wait ends before the reserve."""
    from services.email.handlers.sender import SEND_RESERVE_SECONDS

    [mapping] = [
        r["Properties"]
        for r in _resources(template, "AWS::Lambda::EventSourceMapping").values()
        if r["Properties"]["FunctionName"] == {"Ref": "EmailSenderFunction"}
    ]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "SenderConcurrency"}}
    concurrency = int(template.parameters["SenderConcurrency"]["Default"])
    assert 2 <= concurrency <= 1000  # AWS's bounds for MaximumConcurrency
    timeout = build_stack(template).functions["EmailSenderFunction"].timeout
    sandbox_rate = 1
    worst_wait = concurrency * mapping["BatchSize"] / sandbox_rate
    assert worst_wait <= timeout - SEND_RESERVE_SECONDS, (worst_wait, timeout, SEND_RESERVE_SECONDS)


# ---------------------------------------------------------------- data safety


def test_tables_secrets_and_buckets_outlive_the_stack(template: TranslatedTemplate) -> None:
    kept = ("AWS::DynamoDB::Table", "AWS::SecretsManager::Secret", "AWS::S3::Bucket")
    resources = {k: r for k, r in template.resources.items() if r["Type"] in kept}
    assert len(resources) >= 8
    for logical_id, resource in resources.items():
        assert resource.get("DeletionPolicy") == "Retain", logical_id
        assert resource.get("UpdateReplacePolicy") == "Retain", logical_id
    for logical_id, table in _resources(template, "AWS::DynamoDB::Table").items():
        assert table["Properties"].get("DeletionProtectionEnabled") is True, logical_id
        assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], logical_id


def test_every_queue_keeps_its_messages_as_long_as_sqs_allows(template: TranslatedTemplate) -> None:
    stack = build_stack(template)
    for queue in stack.queues.values():
        assert int(queue.attributes.get("MessageRetentionPeriod", 0)) == 1_209_600, queue.name
        if queue.dlq_arn:  # a dead letter keeps its first enqueue time: its queue must not expire it first
            dlq = stack.queue_by_arn(queue.dlq_arn)
            assert dlq is not None
            assert int(dlq.attributes["MessageRetentionPeriod"]) >= int(queue.attributes["MessageRetentionPeriod"])


def test_a_failed_outbox_batch_is_kept_whole(template: TranslatedTemplate) -> None:
    """Every stream mapping sends what fails to an S3 bucket (the records themselves, kept for the
    bucket's lifecycle), and the function's role may write there."""
    stack = build_stack(template)
    streams = [m for m in stack.mappings.values() if m.kind == "dynamodb"]
    assert len(streams) == 9  # one outbox per service
    for mapping in streams:
        assert mapping.on_failure_arn is not None
        bucket = stack.bucket_by_arn(mapping.on_failure_arn)
        assert bucket is not None, mapping.on_failure_arn
        rules = template.resources[bucket.logical_id]["Properties"]["LifecycleConfiguration"]["Rules"]
        assert any(r["Status"] == "Enabled" and 7 <= r["ExpirationInDays"] <= 365 for r in rules)
        role = template.resources[f"{mapping.function}Role"]["Properties"]
        statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
        puts = [s for s in statements if s["Action"] == "s3:PutObject"]
        assert puts and puts[0]["Resource"] == {"Fn::Join": ["/", [{"Fn::GetAtt": [bucket.logical_id, "Arn"]}, "*"]]}


# ---------------------------------------------------------------- observability


def _alarms(template: TranslatedTemplate) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in _resources(template, "AWS::CloudWatch::Alarm").items()}


def _watched(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics an alarm watches: its own, or those of its metric-math expression."""
    if "Metrics" not in alarm:
        return [alarm]
    return [query["MetricStat"]["Metric"] for query in alarm["Metrics"] if "MetricStat" in query]


def _watching(alarms: dict[str, dict[str, Any]], namespace: str, metric: str, dimension: Any) -> list[str]:
    return [
        k
        for k, p in alarms.items()
        for m in _watched(p)
        if m["Namespace"] == namespace
        and m["MetricName"] == metric
        and dimension in [d["Value"] for d in m["Dimensions"]]
    ]


def test_metric_math_alarms_stay_within_cloudwatch_limits(template: TranslatedTemplate) -> None:
    # An alarm on a metric-math expression reads at most 10 metrics (a hard limit) and returns
    # exactly one series, the expression's.
    math = {k: p["Metrics"] for k, p in _alarms(template).items() if "Metrics" in p}
    assert len(math) >= 7 * 2  # every service: its functions and its dead letters
    for logical_id, queries in math.items():
        assert 1 <= sum("MetricStat" in q for q in queries) <= 10, logical_id
        assert [q["Id"] for q in queries if q["ReturnData"]] == ["watched"], logical_id
        assert len({q["Id"] for q in queries}) == len(queries), logical_id


def test_every_function_logs_to_a_group_with_retention(template: TranslatedTemplate) -> None:
    groups = {
        str(r["Properties"]["LogGroupName"].get("Fn::Sub", "")): r["Properties"]
        for r in _resources(template, "AWS::Logs::LogGroup").values()
        if isinstance(r["Properties"]["LogGroupName"], dict)
    }
    functions = _resources(template, "AWS::Lambda::Function")
    assert len(functions) >= 14
    for logical_id, function in functions.items():
        custom = (function["Properties"].get("LoggingConfig") or {}).get("LogGroup")
        if custom is not None:  # a function that names its own group
            [group] = [r for k, r in _resources(template, "AWS::Logs::LogGroup").items() if custom == {"Ref": k}]
            assert group["Properties"]["RetentionInDays"], logical_id
            continue
        group = groups.get(f"/aws/lambda/${{{logical_id}}}")
        assert group is not None, f"{logical_id} has no log group"
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    retention = template.parameters["LogRetentionDays"]
    assert int(retention["Default"]) in [int(v) for v in retention["AllowedValues"]]


def test_every_failure_an_operator_must_see_raises_an_alarm_on_the_stack_topic(template: TranslatedTemplate) -> None:
    alarms = _alarms(template)
    [topic] = {str(alarm["AlarmActions"][0]["Ref"]) for alarm in alarms.values()}  # one topic for all
    assert topic in _resources(template, "AWS::SNS::Topic")
    for logical_id, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": topic}], logical_id
    missing = []
    for function in _resources(template, "AWS::Lambda::Function"):
        for metric in ("Errors", "Throttles"):
            if not _watching(alarms, "AWS/Lambda", metric, {"Ref": function}):
                missing.append(f"{function} {metric}")
    stack = build_stack(template)
    consumed = {m.source_arn for m in stack.mappings.values()}
    dead_letters = [q for q in stack.queues.values() if q.arn not in consumed]  # DLQs and failure queues
    assert {str(q.dlq_arn) for q in stack.queues.values() if q.dlq_arn} <= {q.arn for q in dead_letters}
    assert len(dead_letters) >= 11
    for queue in dead_letters:
        name = {"Fn::GetAtt": [queue.logical_id, "QueueName"]}
        if not _watching(alarms, "AWS/SQS", "ApproximateNumberOfMessagesVisible", name):
            missing.append(f"{queue.logical_id} messages")
    for mapping in stack.mappings.values():
        if mapping.kind == "dynamodb":
            if not _watching(alarms, "AWS/Lambda", "IteratorAge", {"Ref": mapping.function}):
                missing.append(f"{mapping.logical_id} IteratorAge")
            bucket = stack.bucket_by_arn(str(mapping.on_failure_arn))
            assert bucket is not None
            if not _watching(alarms, "AWS/S3", "PutRequests", {"Ref": bucket.logical_id}):
                missing.append(f"{bucket.logical_id} PutRequests")
    [api] = _resources(template, "AWS::ApiGatewayV2::Api")
    if not _watching(alarms, "AWS/ApiGateway", "5xx", {"Ref": api}):
        missing.append("HTTP API 5xx")
    assert not missing, missing
    [subscription] = [
        s
        for s in _resources(template, "AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == {"Ref": topic}
    ]
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert subscription["Condition"] == "HasAlarmEmail"


def test_the_api_stage_throttles_and_logs_every_route(template: TranslatedTemplate) -> None:
    [api] = _resources(template, "AWS::ApiGatewayV2::Api")
    [stage] = _resources(template, "AWS::ApiGatewayV2::Stage").values()  # one stage: every route, public too
    properties = stage["Properties"]
    assert properties["ApiId"] == {"Ref": api} and properties["StageName"] == "$default"
    assert properties["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": {"Ref": "ApiThrottleRate"},
        "ThrottlingBurstLimit": {"Ref": "ApiThrottleBurst"},
    }
    # A route of its own may only be throttled lower than the default, never escape it.
    for route, settings in (properties.get("RouteSettings") or {}).items():
        assert set(settings) == {"ThrottlingRateLimit", "ThrottlingBurstLimit"}, route
        for name, default in (("ThrottlingRateLimit", "ApiThrottleRate"), ("ThrottlingBurstLimit", "ApiThrottleBurst")):
            parameter = template.parameters[settings[name]["Ref"]]["Default"]
            assert float(parameter) <= float(template.parameters[default]["Default"]), (route, name)
    destination = properties["AccessLogSettings"]["DestinationArn"]
    group = template.resources[destination["Fn::GetAtt"][0]]
    assert group["Type"] == "AWS::Logs::LogGroup" and group["Properties"]["RetentionInDays"]
    log_format = properties["AccessLogSettings"]["Format"]
    for variable in ("$context.requestId", "$context.routeKey", "$context.status", "$context.identity.sourceIp"):
        assert variable in log_format
    stack = build_stack(template)
    assert any(not r.auth_required for r in stack.routes)  # public routes exist, on that one stage


# ---------------------------------------------------------------- browser uploads


def test_the_upload_buckets_accept_the_browsers_presigned_requests(template: TranslatedTemplate) -> None:
    """Imports take a presigned PUT (services/directory/imports.py); activity and email files a
    presigned POST form (shared/files.py) and their download links are fetched."""
    expected = {"ImportsBucket": {"PUT"}, "ActivitiesFilesBucket": {"POST", "GET"}, "EmailFilesBucket": {"POST", "GET"}}
    stack = build_stack(template, {"UploadOrigins": "https://crm.example.com,https://admin.example.com"})
    for logical_id, methods in expected.items():
        [rule] = stack.buckets[logical_id].cors_rules
        assert set(rule["AllowedMethods"]) == methods, logical_id
        assert rule["AllowedOrigins"] == ["https://crm.example.com", "https://admin.example.com"]
        assert rule["AllowedHeaders"] == ["*"] and rule["MaxAgeSeconds"] > 0
    assert not stack.buckets["StreamFailuresBucket"].cors_rules  # nothing uploads there from a browser
