"""The public tracking link `/t/{token}`: no login, the signed token names the tenant and the mail.

- an open pixel: records "opened", answers a 1x1 GIF that no cache keeps;
- a click: records "clicked" with the link and redirects (302) to the link the token carries,
  never to a URL the request names (no open redirect).
A forged or altered token: 404 for a pixel, 400 problem for anything else; nothing is recorded.
"""

import base64
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.email import tracking
from shared.errors import BadRequest, FieldError, NotFound
from shared.observability import logger

router = APIGatewayHttpRouter()

Token = Annotated[str, Path(max_length=8192, description="A signed tracking link")]
NO_STORE = {"Cache-Control": "no-store, no-cache, must-revalidate, max-age=0", "Pragma": "no-cache"}


@router.get("/t/<token>")
def follow(token: Token) -> Response[str]:
    try:
        claims = tracking.verified(token)
    except tracking.BadToken as error:
        if tracking.claimed_kind(token) == "open":
            raise NotFound("This link is not valid.") from error
        wrong = FieldError(field="path.token", message="The link is not valid (forged or altered).", code="invalid")
        raise BadRequest("This link is not valid.", [wrong]) from error
    try:
        tracking.record(claims)
    except Exception:  # the recipient still gets the pixel or the page; the report is lost, and logged
        logger.exception("tracking report not recorded", extra={"message_id": claims.message_id})
    if claims.kind == "click" and claims.url:
        return Response(status_code=302, body="", headers={**NO_STORE, "Location": claims.url})
    # The GIF goes base64 as text: the response validation would try to read raw bytes as UTF-8.
    gif = Response(status_code=200, content_type="image/gif", body=base64.b64encode(tracking.PIXEL).decode())
    gif.headers.update(NO_STORE)
    gif.base64_encoded = True
    return gif
