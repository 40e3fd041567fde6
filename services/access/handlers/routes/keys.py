"""API keys (`/api-keys`): admins only; keys themselves cannot manage keys."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.access import keys
from services.access.domain.keys import CreatedKey, Key, KeyCreate, KeyStatus, KeyUpdate
from services.access.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit

router = APIGatewayHttpRouter()


@router.get("/api-keys")
def list_keys(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[Key]:
    return keys.list_keys(caller(router), cursor, limit)


@router.post("/api-keys", status_code=201)
def create_key(body: Annotated[KeyCreate, Body()]) -> CreatedKey:
    return keys.create_key(caller(router), body)


@router.get("/api-keys/<key_id>")
def get_key(key_id: Id) -> Key:
    return keys.get_key(caller(router), key_id)


@router.patch("/api-keys/<key_id>")
def update_key(key_id: Id, body: Annotated[KeyUpdate, Body()]) -> Key:
    return keys.update_key(caller(router), key_id, body)


@router.post("/api-keys/<key_id>/lock")
def lock_key(key_id: Id) -> Key:
    return keys.set_status(caller(router), key_id, KeyStatus.LOCKED)


@router.post("/api-keys/<key_id>/unlock")
def unlock_key(key_id: Id) -> Key:
    return keys.set_status(caller(router), key_id, KeyStatus.ACTIVE)


@router.post("/api-keys/<key_id>/revoke")
def revoke_key(key_id: Id) -> Key:
    return keys.set_status(caller(router), key_id, KeyStatus.REVOKED)
