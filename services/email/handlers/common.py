"""What every route module of the email API shares: the caller and parameter types."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from services.email.service import Caller, ensure_tenant
from shared.auth import from_http_event
from shared.pagination import MAX_LIMIT
from shared.secrets import signing_key

Id = Annotated[str, Path(pattern=r"^[0-9A-Za-z_-]{1,64}$")]
Cursor = Annotated[str | None, Query(max_length=2048)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def caller(router: BaseRouter) -> Caller:
    """The caller of the current request, its tenant's defaults installed."""
    current = Caller(auth=from_http_event(router.current_event.raw_event), signing_key=signing_key())
    ensure_tenant(current)
    return current


def no_content() -> Response[None]:
    return Response(status_code=204, body=None)
