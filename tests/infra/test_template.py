"""The template model: SAM translation and intrinsics, on the repo's and the fixture template."""

from __future__ import annotations

import json
from pathlib import Path

from samtranslator.yaml_helper import yaml_parse

from infra.template import TEMPLATE_FILE, build_stack, translate

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"

# CloudFormation's quotas on one stack ("CloudFormation quotas", User Guide): past them it does not deploy.
STACK_RESOURCES = 500  # counted after the SAM transform (each function's role, log group, mappings ...)
STACK_PARAMETERS = 200
STACK_OUTPUTS = 200
TEMPLATE_BYTES = 1024 * 1024  # a template body in S3, where `sam deploy` puts it; the transform's output too


def test_repo_template_translates_into_a_stack() -> None:
    stack = build_stack(translate(ROOT))
    assert stack.buses["EventBus"].name == "kontakt-dev"
    api = stack.functions["DirectoryApiFunction"]
    assert api.environment["EVENT_BUS_NAME"] == "kontakt-dev"
    assert api.environment["STAGE"] == "dev"
    routes = {r.route_key: r for r in stack.routes}
    assert routes["ANY /accounts/{proxy+}"].function == "DirectoryApiFunction"
    # Every route but the public ones has the Lambda authorizer (users' tokens and API keys); the API
    # functions also verify a bearer token themselves when invoked without it (shared/auth.py), against
    # the user pool and its web app client, which the template names to them.
    public = {r.path for r in stack.routes if r.authorizer is None}
    assert all(r.authorizer == "kontakt" and r.auth_required for r in stack.routes if r.path not in public)
    assert {"/u/{token}", "/t/{token}", "/calendar/{feed}", "/openapi.json", "/docs", "$default"} <= public
    assert all(
        p.endswith(("/openapi.json", "/docs")) or p in ("$default", "/u/{token}", "/t/{token}", "/calendar/{feed}")
        for p in public
    )
    authorizer = stack.authorizers["kontakt"]
    assert authorizer.function == "AccessAuthorizerFunction" and authorizer.simple_responses
    assert authorizer.identity_sources == ("$request.header.Authorization", "$context.identity.sourceIp")
    assert 0 < authorizer.ttl_seconds <= 10  # a locked key is refused within seconds
    for function in {r.function for r in stack.routes}:
        environment = stack.functions[function].environment
        assert environment["AUTH_ISSUER"] == "https://cognito-idp.eu-north-1.amazonaws.com/eu-north-1_local"
        assert environment["AUTH_JWKS_URL"] == environment["AUTH_ISSUER"] + "/.well-known/jwks.json"
        assert environment["AUTH_AUDIENCE"] == "kontakt"  # the app client (locally: the JwtAudience parameter)
    outbox = stack.mappings["DirectoryPublisherFunctionOutbox"]
    assert outbox.kind == "dynamodb"
    assert outbox.bisect_on_error and outbox.reports_item_failures
    assert outbox.on_failure_arn == stack.buckets["StreamFailuresBucket"].arn


def test_the_template_stays_within_cloudformation_quotas() -> None:
    text = (ROOT / TEMPLATE_FILE).read_text(encoding="utf-8")
    raw = yaml_parse(text)
    template = translate(ROOT)
    assert len(template.resources) <= STACK_RESOURCES, len(template.resources)
    assert len(raw.get("Parameters", {})) <= STACK_PARAMETERS
    assert len(raw.get("Outputs", {})) <= STACK_OUTPUTS
    assert len(text.encode()) <= TEMPLATE_BYTES
    assert len(json.dumps(template.resources).encode()) <= TEMPLATE_BYTES


def test_each_api_function_has_one_permission_for_all_its_routes() -> None:
    """Routes are in the HttpApi's DefinitionBody, not SAM HttpApi events (one permission each):
    every function a route calls may be invoked by the API on any route, by one permission."""
    template = translate(ROOT)
    stack = build_stack(template)
    permissions = [r["Properties"] for r in template.resources.values() if r["Type"] == "AWS::Lambda::Permission"]
    by_api = [p for p in permissions if p["Principal"] == "apigateway.amazonaws.com"]
    source = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*"
    routes = [p for p in by_api if p["SourceArn"] == {"Fn::Sub": source}]
    assert sorted(p["FunctionName"]["Ref"] for p in routes) == sorted({r.function for r in stack.routes})
    # ... and the authorizer, by the API's authorizers only
    [authorizer] = [p for p in by_api if p not in routes]
    assert authorizer["SourceArn"] == {"Fn::Sub": source.removesuffix("*") + "authorizers/*"}
    assert authorizer["FunctionName"]["Ref"] == stack.authorizers["kontakt"].function


def test_parameters_override_defaults() -> None:
    stack = build_stack(translate(ROOT), {"Stage": "qa"})
    assert stack.tables["DirectoryTable"].name == "kontakt-qa-directory"
    assert stack.queues["DirectoryEventsQueue"].redrive_policy == {
        "deadLetterTargetArn": stack.queues["DirectoryEventsDLQ"].arn,
        "maxReceiveCount": 5,
    }


def test_conditions_late_values_and_schedules() -> None:
    template = translate(FIXTURES)
    late = {("Secret", "Ref"): "arn:aws:secretsmanager:eu-north-1:123456789012:secret:infra-test-secret-AbCdEf"}
    stack = build_stack(template, {"Stage": "test"}, late)
    worker = stack.functions["WorkerFunction"]
    assert worker.environment["IS_PROD"] == "no"
    assert worker.environment["SECRET_ID"].endswith("-AbCdEf")
    assert worker.code_dir == "."
    assert build_stack(template, {"Stage": "prod"}).functions["WorkerFunction"].environment["IS_PROD"] == "yes"
    schedules = {s.expression: s for s in stack.schedules.values()}
    assert schedules["cron(0 6 * * ? *)"].function == "TickFunction"
    assert schedules["cron(0 6 * * ? *)"].kind == "rule"
    assert schedules["rate(1 hour)"].kind == "scheduler"
    assert schedules["rate(1 hour)"].input == '{"from": "scheduler"}'


def test_an_sqs_mappings_maximum_concurrency_runs_that_many_pumps_locally() -> None:
    from infra.runtime import LOCAL_MAX_CONCURRENCY, local_concurrency, mapping_pumps

    stack = build_stack(translate(ROOT))
    deliveries = stack.mappings["WebhooksDeliveryFunctionDeliveries"]
    assert deliveries.max_concurrency == 10 == LOCAL_MAX_CONCURRENCY and mapping_pumps(deliveries) == 10
    assert mapping_pumps(stack.mappings["EmailSenderFunctionSends"]) == 2
    assert mapping_pumps(stack.mappings["WebhooksDeliveryFunctionSlowDeliveries"]) == 5
    # one worker per pump of the deliverer's two queues, so a slow lane's waits never hold the main lane's
    assert local_concurrency(stack, "WebhooksDeliveryFunction") == 15
    assert local_concurrency(stack, "SmsSenderFunction") == 1  # no ScalingConfig: one, as before


def test_an_invocation_wakes_the_streams_of_the_tables_its_role_may_write_only() -> None:
    from infra.runtime import streamed_tables_written

    stack = build_stack(translate(ROOT))
    written = streamed_tables_written(stack)
    table = {t.logical_id: t.arn for t in stack.tables.values()}
    assert written["WebhooksDeliveryFunction"] == {table["WebhooksTable"]}
    assert written["DirectoryApiFunction"] == {table["DirectoryTable"]}
    assert written["EmailPublisherFunction"] == set()  # reads its stream, writes no table
    assert set(written) == set(stack.functions)
