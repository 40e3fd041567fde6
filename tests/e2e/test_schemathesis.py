"""The contract test: every operation of every service's OpenAPI document, called through the
running gateway with requests generated from the document, answers as the document says.

Checks: no 5xx (`not_a_server_error`), only documented statuses (`status_code_conformance`), the
documented media type (`content_type_conformance`) and a body that fits the documented schema
(`response_schema_conformance`). The operations come from the merged document of every service
with an API (`infra.docs.api_services()`, as `kontakt docs` writes docs/openapi/kontakt.json), so a
new service or route is covered by existing. The requests carry an admin token of a tenant of
their own; a few examples per operation keep the file quick (`MAX_EXAMPLES`).

The document is built in-process at collection time because schemathesis' lazy `from_fixture`
loader does not work with this pytest version; the first tests check the running API serves the
same documents.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from infra import docs
from infra.runtime import LocalRuntime
from tests.e2e.helpers import new_tenant

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Kontakt")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

SERVICES = docs.api_services()
DOCUMENTS = {service: json.loads(docs.render_openapi(service)) for service in SERVICES}
MERGED = docs.merged_openapi(DOCUMENTS)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Per operation: ~160 operations, the whole file well under a minute. A deeper run:
# KONTAKT_CONTRACT_EXAMPLES=50 pytest tests/e2e/test_schemathesis.py
MAX_EXAMPLES = int(os.environ.get("KONTAKT_CONTRACT_EXAMPLES", "3"))
# Examples and fuzzing (valid and invalid requests); not the coverage phase, which sends every
# boundary of every field (thousands of requests).
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}}})
schema = schemathesis.openapi.from_dict(MERGED, config=CONFIG)


@pytest.fixture(scope="session")
def fuzz_auth(stack: LocalRuntime) -> dict[str, str]:
    return {"Authorization": "Bearer " + stack.token(new_tenant(), "fuzz-admin", "admin")}


@pytest.mark.parametrize("service", SERVICES)
def test_served_document_is_the_one_tested(stack: LocalRuntime, service: str) -> None:
    served = requests.get(f"{stack.api_url}/{service}/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == DOCUMENTS[service]


def test_the_api_serves_the_merged_document_and_an_index_of_the_services(stack: LocalRuntime) -> None:
    merged = requests.get(f"{stack.api_url}/openapi.json", timeout=30)
    assert merged.status_code == 200
    assert merged.json() == MERGED  # the checked-in docs/openapi/kontakt.json is current (test_docs_current)
    index = requests.get(f"{stack.api_url}/docs", timeout=30)
    assert index.status_code == 200
    assert index.headers["Content-Type"].startswith("text/html")
    assert 'href="/openapi.json"' in index.text
    for service in SERVICES:
        assert f'href="/{service}/docs"' in index.text
        page = requests.get(f"{stack.api_url}/{service}/docs", timeout=30)
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")


def test_every_service_is_in_the_contract_test() -> None:
    tested = {operation.path for operation in (o.ok() for o in schema.get_all_operations())}
    for service, document in DOCUMENTS.items():
        assert set(document["paths"]) <= tested, service


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_operation_answers_as_documented(case: Any, stack: LocalRuntime, fuzz_auth: dict[str, str]) -> None:
    case.call_and_validate(base_url=stack.api_url, headers=fuzz_auth, checks=CHECKS, timeout=30)
