"""Webhook endpoints: a tenant setting, so admins only (the kernel's `require_admin`, as SMS settings)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.webhooks import endpoints
from services.webhooks.domain.endpoints import Endpoint, EndpointCreate, EndpointUpdate, EndpointWithSecret
from services.webhooks.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, answers, no_content

router = APIGatewayHttpRouter()


@router.get("/webhooks/endpoints")
def list_endpoints(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[Endpoint]:
    return endpoints.list_endpoints(caller(router), cursor, limit)


@router.post("/webhooks/endpoints", status_code=201)
@answers(409)  # the tenant has its MAX_ENDPOINTS endpoints (services/webhooks/limits.py)
def create_endpoint(body: Annotated[EndpointCreate, Body()]) -> EndpointWithSecret:
    return endpoints.create_endpoint(caller(router), body)


@router.get("/webhooks/endpoints/<endpoint_id>")
def get_endpoint(endpoint_id: Id) -> Endpoint:
    return endpoints.get_endpoint(caller(router), endpoint_id)


@router.patch("/webhooks/endpoints/<endpoint_id>")
def update_endpoint(endpoint_id: Id, body: Annotated[EndpointUpdate, Body()]) -> Endpoint:
    return endpoints.update_endpoint(caller(router), endpoint_id, body)


@router.delete("/webhooks/endpoints/<endpoint_id>")
def delete_endpoint(endpoint_id: Id) -> Response[None]:
    endpoints.delete_endpoint(caller(router), endpoint_id)
    return no_content()


@router.post("/webhooks/endpoints/<endpoint_id>/rotate-secret")
def rotate_secret(endpoint_id: Id) -> EndpointWithSecret:
    return endpoints.rotate_secret(caller(router), endpoint_id)
