"""A documented array query parameter reads `p=a&p=b` and `p=a,b` alike (issue 15, part 2).

API Gateway's HTTP API (payload 2.0) joins a repeated query parameter with commas, and the local
gateway builds the same event (`tests/infra/test_units.py`). Generated from every service's
OpenAPI document: each operation with an array query parameter is called with two valid items in
both forms and must answer 200 with the same body both times. A new one is covered by existing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.e2e.helpers import new_tenant
from tests.e2e.openapi_ops import Operation, operations, required_query, resolve, url

if TYPE_CHECKING:
    from conftest import Api


def _array_schema(parameter: dict[str, Any], op: Operation) -> dict[str, Any] | None:
    schema = resolve(parameter.get("schema") or {}, op.document)
    for option in [schema, *schema.get("anyOf", [])]:
        option = resolve(option, op.document)
        if option.get("type") == "array":
            return option
    return None


ARRAY_PARAMETERS = [
    (op, parameter["name"], schema)
    for op in operations()
    if op.method == "GET"
    for parameter in op.operation.get("parameters", [])
    if parameter["in"] == "query" and (schema := _array_schema(parameter, op)) is not None
]


def _two_items(schema: dict[str, Any], op: Operation) -> list[str]:
    items = resolve(schema.get("items") or {}, op.document)
    if "enum" in items:
        return [str(v) for v in items["enum"][:2]]
    return ["active", "prospect"]  # fits a code or id pattern


def test_every_service_with_an_array_parameter_is_swept() -> None:
    assert any(op.path == "/call-list" and name == "statuses" for op, name, _ in ARRAY_PARAMETERS)


def test_array_query_parameters_read_both_forms_alike(session_api: Api) -> None:
    admin = session_api.as_(new_tenant(), "admin-1", "admin")
    unlike = []
    for op, name, schema in ARRAY_PARAMETERS:
        items = _two_items(schema, op)
        params = {k: str(v) for k, v in required_query(op).items()}
        repeated = admin.get(url(op), params=[*params.items(), *((name, i) for i in items)])
        joined = admin.get(url(op), params={**params, name: ",".join(items)})
        assert repeated.request.url and f"{name}={items[0]}&{name}={items[1]}" in repeated.request.url
        alike = (repeated.status_code, repeated.json()) == (joined.status_code, joined.json())
        if repeated.status_code != 200 or not alike:
            unlike.append(f"{op} {name}: {repeated.status_code} {repeated.text[:200]} / {joined.status_code}")
    assert not unlike, "\n".join(unlike)
