"""Email templates: CRUD, list and preview."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.email import templates
from services.email.domain.templates import (
    PreviewRequest,
    Rendered,
    Template,
    TemplateCreate,
    TemplateSummary,
    TemplateUpdate,
)
from services.email.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import ID_PATTERN, Cursor, Id, Limit, NamePrefix, Order, SortByName, UpdatedSince, no_content

router = APIGatewayHttpRouter()


@router.post("/email/templates", status_code=201)
def create_template(body: Annotated[TemplateCreate, Body()]) -> Template:
    return templates.create_template(caller(router), body)


@router.get("/email/templates")
def list_templates(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    name: NamePrefix = None,
    created_by: Annotated[str | None, Query(pattern=ID_PATTERN, description="The templates this user made")] = None,
    sort: SortByName = None,
    order: Order = "asc",
    updated_since: UpdatedSince = None,
) -> Page[TemplateSummary]:
    """The templates, without their HTML and text (each template's own GET has them)."""
    filters = {"name": name, "created_by": created_by}
    return templates.list_templates(caller(router), cursor, limit, filters, sort, order, updated_since)


@router.get("/email/templates/<template_id>")
def get_template(template_id: Id) -> Template:
    return templates.get_template(caller(router), template_id)


@router.patch("/email/templates/<template_id>")
def update_template(template_id: Id, body: Annotated[TemplateUpdate, Body()]) -> Template:
    return templates.update_template(caller(router), template_id, body)


@router.delete("/email/templates/<template_id>")
def delete_template(template_id: Id) -> Response[None]:
    templates.delete_template(caller(router), template_id)
    return no_content()


@router.post("/email/templates/<template_id>/preview")
def preview_template(template_id: Id, body: Annotated[PreviewRequest, Body()]) -> Rendered:
    return templates.preview(caller(router), template_id, body)
