"""The tenant's users (admins create and change them)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.directory import admin
from services.directory.domain.models import User, UserCreate, UserUpdate
from services.directory.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit

router = APIGatewayHttpRouter()


@router.post("/users", status_code=201)
def create_user(body: Annotated[UserCreate, Body()]) -> User:
    return admin.create_user(caller(router), body)


@router.get("/users")
def list_users(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[User]:
    return admin.list_users(caller(router), cursor, limit)


@router.get("/users/<user_id>")
def get_user(user_id: Id) -> User:
    return admin.get_user(caller(router), user_id)


@router.patch("/users/<user_id>")
def update_user(user_id: Id, body: Annotated[UserUpdate, Body()]) -> User:
    return admin.update_user(caller(router), user_id, body)
