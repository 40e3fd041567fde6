"""Classes of accounts and contacts, and the classification types they belong to."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.directory import admin
from services.directory.domain.models import Class, ClassCreate, ClassificationType, ClassificationTypeCreate
from services.directory.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit

router = APIGatewayHttpRouter()


@router.post("/classification-types", status_code=201)
def create_classification_type(body: Annotated[ClassificationTypeCreate, Body()]) -> ClassificationType:
    return admin.create_classification_type(caller(router), body)


@router.get("/classification-types")
def list_classification_types(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[ClassificationType]:
    return admin.list_classification_types(caller(router), cursor, limit)


@router.get("/classification-types/<type_id>")
def get_classification_type(type_id: Id) -> ClassificationType:
    return admin.get_classification_type(caller(router), type_id)


@router.post("/classes", status_code=201)
def create_class(body: Annotated[ClassCreate, Body()]) -> Class:
    return admin.create_class(caller(router), body)


@router.get("/classes")
def list_classes(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[Class]:
    return admin.list_classes(caller(router), cursor, limit)


@router.get("/classes/<class_id>")
def get_class(class_id: Id) -> Class:
    return admin.get_class(caller(router), class_id)
