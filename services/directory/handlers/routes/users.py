"""The tenant's users (admins create and change them)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.directory import admin
from services.directory.domain.models import Me, Role, User, UserCreate, UserUpdate
from services.directory.handlers.common import caller
from services.directory.handlers.routes.params import EmailQuery, NamePrefix, Order, Sort
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, OptIdQuery, UpdatedSince, answers

router = APIGatewayHttpRouter()


@router.post("/users", status_code=201)
def create_user(body: Annotated[UserCreate, Body()]) -> User:
    return admin.create_user(caller(router), body)


@router.get("/users")
def list_users(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    email: EmailQuery = None,
    role: Annotated[Role | None, Query(description="The users of this role")] = None,
    group_id: OptIdQuery = None,
    name: NamePrefix = None,
    sort: Sort = None,
    order: Order = "asc",
    updated_since: UpdatedSince = None,
) -> Page[User]:
    """At most one filter (a second is a 400 `unsupported_combination` naming it)."""
    filters = {"email": email, "role": role.value if role else None, "group_id": group_id, "name": name}
    return admin.list_users(caller(router), cursor, limit, filters, sort, order, updated_since)


@router.get("/me")
@answers(404)
def me() -> Me:
    """The caller's own user record, with the role and groups this request acts with."""
    return admin.me(caller(router))


@router.get("/users/<user_id>")
def get_user(user_id: Id) -> User:
    return admin.get_user(caller(router), user_id)


@router.patch("/users/<user_id>")
def update_user(user_id: Id, body: Annotated[UserUpdate, Body()]) -> User:
    return admin.update_user(caller(router), user_id, body)
