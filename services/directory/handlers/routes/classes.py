"""Classes of accounts and contacts, and the classification types they belong to."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.directory import admin
from services.directory.domain.models import Class, ClassCreate, ClassificationType, ClassificationTypeCreate
from services.directory.handlers.common import caller
from services.directory.handlers.routes.params import NamePrefix, Order, Sort
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, OptIdQuery, UpdatedSince

router = APIGatewayHttpRouter()


@router.post("/classification-types", status_code=201)
def create_classification_type(body: Annotated[ClassificationTypeCreate, Body()]) -> ClassificationType:
    return admin.create_classification_type(caller(router), body)


@router.get("/classification-types")
def list_classification_types(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    name: NamePrefix = None,
    sort: Sort = None,
    order: Order = "asc",
    updated_since: UpdatedSince = None,
) -> Page[ClassificationType]:
    return admin.list_classification_types(caller(router), cursor, limit, name, sort, order, updated_since)


@router.get("/classification-types/<type_id>")
def get_classification_type(type_id: Id) -> ClassificationType:
    return admin.get_classification_type(caller(router), type_id)


@router.post("/classes", status_code=201)
def create_class(body: Annotated[ClassCreate, Body()]) -> Class:
    return admin.create_class(caller(router), body)


@router.get("/classes")
def list_classes(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    classification_type_id: OptIdQuery = None,
    name: NamePrefix = None,
    sort: Sort = None,
    order: Order = "asc",
    updated_since: UpdatedSince = None,
) -> Page[Class]:
    """At most one filter (a second is a 400 `unsupported_combination` naming it)."""
    filters = {"classification_type_id": classification_type_id, "name": name}
    return admin.list_classes(caller(router), cursor, limit, filters, sort, order, updated_since)


@router.get("/classes/<class_id>")
def get_class(class_id: Id) -> Class:
    return admin.get_class(caller(router), class_id)
