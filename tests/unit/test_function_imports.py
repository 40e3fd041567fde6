"""What each function of template.yaml loads at a cold start excludes what it does not need.

Deterministic, not a timing (the timing is `make perf`'s tests/perf/test_cold_start.py): each
handler module is imported in a fresh interpreter with the function's environment and the
layer's packages only, plus what its first invocation loads (tests/coldstart.py), and the
modules it ended up with are checked against what it must not need: the local runtime, moto and
test tooling; another service; Powertools' HTTP resolver and the route modules outside the API
functions (also once every feature module of the function's service is loaded, as a function holds
them after a while: a queue, a stream or a Cognito trigger has no request to route); any service
module in the outbox publisher, which forwards envelopes; the features a single-purpose function
does not serve; the X-Ray SDK in the functions that do not trace; boto3 in the functions that make no
AWS client at every invocation (docs/decisions.md, "Cold start").
The API functions are the ones template.yaml routes HTTP requests to, and their probes show the
resolver and their route modules (so the check sees what it looks for).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from infra.template import Function, load_stack
from tests.coldstart import PROJECT_ROOT, Probe, functions, handler_module, probe

SERVICES = sorted(p.name for p in (PROJECT_ROOT / "services").iterdir() if (p / "handlers").is_dir())
NEVER = (
    *("infra", "moto", "tests", "pytest", "_pytest", "requests", "httpx"),
    "pydantic_settings",  # 25-40 ms of every cold start for what `shared.settings` reads from os.environ itself
    # Powertools' batch utility imports every event source's parser models (~50 ms): `shared.batch` answers SQS
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.parser",
    "jinja2",  # loaded by the first template check or render (shared/templating.py), not at start
)
# Their entries say `traced=False`: Cognito's triggers (a sign-in waits on them) and the publisher.
UNTRACED = (
    "services.directory.handlers.token",
    "services.directory.handlers.signup",
    "shared.outbox",
    "services.access.handlers.authorizer",  # every request's cache miss: no X-Ray SDK at its cold start
    "services.access.handlers.signin",  # in every sign-in, as the other Cognito triggers
)
XRAY = "aws_xray_sdk"
# The functions whose every invocation makes an AWS client with boto3 (pynamodb needs botocore only): the
# others import it where a client is made, so a cold start that makes none does not load it (~15-20 ms).
BOTO3_AT_START = (
    "shared.outbox",  # EventBridge and SQS
    "services.access.handlers.signin",  # the login lookup
    "services.directory.handlers.imports",  # the uploaded file in S3
    "services.email.handlers.link_key_rotation",  # Secrets Manager
)
# The sender and feedback send and record mails: no feature that makes them (transactional requests,
# campaign recipients, templates) nor the service's event routing.
MAKING_SIDE = (
    "services.email.transactional",
    "services.email.recipients",
    "services.email.templates",
    "services.email.subscriptions",
    "services.email.domain.templates",
)
SENDING_SIDE = ("services.email.sending", "services.email.feedback", "services.email.tracking")  # sender, feedback, API
SMS_MAKING_SIDE = (
    "services.sms.messages",
    "services.sms.recipients",
    "services.sms.preview",
    "services.sms.subscriptions",
)
# The directory's duplicate jobs (scans, re-keys after a change of the rules' country): the scans
# function's, loaded elsewhere only by the routes that start or read them.
DUPLICATE_JOBS = ("services.directory.duplicate_scans", "services.directory.duplicate_rekeys")
# Modules of features a function does not serve (beyond the rules every function of its kind has).
NOT_SERVED = {
    "shared.outbox": ("services", "pynamodb", "jinja2"),
    "services.email.handlers.link_key_rotation": ("services.email.store", "pynamodb", "jinja2"),
    # the Cognito triggers: no target group nor its condition models (shared/contracts/target_groups.py)
    "services.directory.handlers.token": (
        "services.directory.imports",
        "services.directory.target_groups",
        "shared.conditions",
        "jinja2",
    ),
    "services.directory.handlers.signup": (
        "services.directory.imports",
        "services.directory.target_groups",
        "shared.conditions",
        "jinja2",
    ),
    "services.directory.handlers.imports": (
        "services.directory.target_groups",
        "services.directory.identity",
        *DUPLICATE_JOBS,
        "services.directory.duplicate_rules",
        "services.directory.merges",
    ),
    # its merge step loads the merge module (request models built at import) with a merge event only
    "services.directory.handlers.consumer": (
        "services.directory.imports",
        "services.directory.identity",
        "services.directory.merges",
        *DUPLICATE_JOBS,
    ),
    # a record's requests check duplicates by the rules: not the rules' routes, their re-key, scans or merges
    "services.directory.handlers.api": (
        *DUPLICATE_JOBS,
        "services.directory.duplicate_rules",
        "services.directory.merges",
    ),
    "services.directory.handlers.scans": ("services.directory.duplicate_rekeys", "services.directory.merges"),
    "services.email.handlers.sender": (
        "services.email.automations",
        "services.email.campaign_launch",
        "services.email.campaigns",
        "services.email.list_types",
        "services.email.feedback",
        *MAKING_SIDE,
    ),
    "services.email.handlers.feedback": (
        "services.email.automations",
        "services.email.campaign_launch",
        "services.email.campaigns",
        "services.email.list_types",
        *MAKING_SIDE,
    ),
    # The SMS sender and receipts record messages: not the features that make them (the API's
    # sends, the contacts projection, previews) nor the service's event routing.
    "services.sms.handlers.sender": SMS_MAKING_SIDE,
    "services.sms.handlers.receipts": SMS_MAKING_SIDE,
    # A consumer loads the feature modules of the events it consumes, not of the jobs; a jobs
    # function those of its jobs (shared/features.py's registries; both: defaults and hooks).
    "services.email.handlers.consumer": (*SENDING_SIDE, "services.email.automations", "services.email.campaign_launch"),
    "services.email.handlers.jobs": SENDING_SIDE,
    "services.activities.handlers.consumer": (
        "services.activities.order_lists",
        "services.activities.facilities",
        "services.activities.call_list.listing",
        "services.activities.todo",
        "services.activities.reminders",
        # its first batch (tests/coldstart.py's FIRST_EVENTS: email.sent) loads only marketing's module
        "services.activities.goals",
        "services.activities.order_erasure",
        "services.activities.call_list.index",
        "services.activities.mass",
    ),
    "services.activities.handlers.jobs": (
        "services.activities.order_lists",
        "services.activities.facilities",
        "services.activities.call_list.listing",
        "services.activities.todo",
        "services.activities.goals",
        "services.activities.marketing",
        "services.activities.order_erasure",
        "services.activities.call_list.index",
    ),
}


# An API's cold start mounts the route modules of its first request's path (tests/coldstart.py's
# FIRST_REQUEST), not another feature's; Powertools' OpenAPI models load with a document only.
API_NOT_SERVED = {
    "services.activities.handlers.api": ("goals", "marketing", "mass", "calendar", "contact_orders", "admin"),
    "services.directory.handlers.api": (
        *("accounts", "target_groups", "imports", "users", "classes"),
        *("duplicates", "duplicates_rules"),  # scans, groups, merges; the rules
    ),
    "services.email.handlers.api": ("templates", "automations", "list_types", "public", "tracking", "settings"),
}
OPENAPI_MODELS = "aws_lambda_powertools.event_handler.openapi.models"
OPERATION_DOCS = "shared.operation_docs"  # what the OpenAPI document says of each operation: with a document only
EVENT_HANDLER = "aws_lambda_powertools.event_handler"
ROUTING = (EVENT_HANDLER, *(f"services.{s}.handlers.routes" for s in SERVICES))  # an HTTP API's only


def must_not_load(function: Function) -> tuple[str, ...]:
    """Module prefixes the function's cold start must not import."""
    module = handler_module(function)
    service = module.split(".")[1] if module.startswith("services.") else None
    excluded = [*NEVER, *(f"services.{other}" for other in SERVICES if other != service)]
    if not is_api(module):
        excluded += ROUTING
    if module in UNTRACED:
        excluded.append(XRAY)
    if module not in BOTO3_AT_START:
        excluded.append("boto3")
    excluded += [
        OPENAPI_MODELS,
        OPERATION_DOCS,
        *(f"{module.rsplit('.', 1)[0]}.routes.{name}" for name in API_NOT_SERVED.get(module, ())),
    ]
    return (*excluded, *NOT_SERVED.get(module, ()))


def is_api(module: str) -> bool:
    return module.endswith(".handlers.api")


def loaded(modules: tuple[str, ...], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_the_http_apis_are_the_functions_the_template_routes_requests_to() -> None:
    routed = {route.function for route in load_stack(PROJECT_ROOT).routes}
    http = {handler_module(f): f.logical_id in routed for f in functions()}
    assert {m for m, routes in http.items() if routes} == {m for m in http if is_api(m)}
    assert http["shared.outbox"] is False and http["services.email.handlers.sender"] is False
    assert sum(http.values()) >= 3 and len(http) - sum(http.values()) >= 10


def test_each_function_loads_only_what_it_serves() -> None:
    one_each = {handler_module(f): f for f in functions()}  # functions that share a handler load the same
    assert set(NOT_SERVED) <= set(one_each), sorted(set(NOT_SERVED) - set(one_each))

    def probed(function: Function) -> Probe:
        return probe(function, ran=not is_api(handler_module(function)))

    with ThreadPoolExecutor(max_workers=2) as pool:
        probes = dict(zip(one_each, pool.map(probed, one_each.values()), strict=True))
    wrong = {}
    for module, function in one_each.items():
        extra = loaded(probes[module].modules, must_not_load(function))
        if not is_api(module):  # nor once it has loaded every feature module of its service
            extra += loaded(probes[module].ran, ROUTING)
        if extra:
            wrong[f"{function.logical_id} ({module})"] = sorted(set(extra))[:12]
    assert not wrong, wrong
    traced = [m for m in one_each if m not in UNTRACED]
    assert all(XRAY + ".core" in probes[m].modules for m in traced), "a traced function loads the X-Ray SDK"
    apis = [m for m in one_each if is_api(m)]
    assert len(apis) >= 3 and all(EVENT_HANDLER + ".api_gateway" in probes[m].modules for m in apis)
    assert all(m.removesuffix(".api") + ".routes" in probes[m].modules for m in apis), "an API loads its routes"
    assert not loaded(probes["shared.outbox"].ran, ("services",)) and "shared.outbox" in probes["shared.outbox"].ran


@pytest.mark.parametrize("module", UNTRACED)
def test_the_untraced_list_is_what_the_handlers_say(module: str) -> None:
    source = Path(PROJECT_ROOT, *module.split(".")).with_suffix(".py").read_text()
    assert "traced=False" in source and "traced=True" not in source


def test_the_guard_sees_a_module_it_must_not_load() -> None:
    publisher = next(f for f in functions() if handler_module(f) == "shared.outbox")
    probed = probe(publisher, "shared.outbox,services.email.handlers.sender")
    assert loaded(probed.modules, must_not_load(publisher))
