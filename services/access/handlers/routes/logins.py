"""Sign-ins (`/logins`: a user's history, one's own or, for admins, anyone's) and their locks
(`/login-locks`: admins list and lift them)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.access import logins
from services.access.domain.logins import LoginLock, SignIn
from services.access.handlers.common import caller
from shared import clock
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, OptIdQuery, no_content

router = APIGatewayHttpRouter()


@router.get("/logins")
def list_sign_ins(user_id: OptIdQuery = None, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[SignIn]:
    return logins.list_sign_ins(caller(router), user_id, cursor, limit)


@router.get("/login-locks")
def list_locks(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[LoginLock]:
    return logins.list_locks(caller(router), cursor, limit, clock.now())


@router.delete("/login-locks/<lock_id>")
def lift_lock(lock_id: Id) -> Response[None]:
    logins.lift_lock(caller(router), lock_id, clock.now())
    return no_content()
