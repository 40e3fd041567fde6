"""The public tracking link `/t/{token}`: no login, the signed token names the tenant and the mail.

- an open pixel: records "opened", answers a 1x1 GIF that no cache keeps;
- a click: records "clicked" with the link and redirects (302) to the link of the mail the token
  names (its position in the links the message recorded when it was sent), never to a URL a token
  or the request names (no open redirect).
A token with characters no link token has: 422 (the path parameter's pattern, as for `/u/{token}`); a
forged, altered or malformed one: 404 for a pixel, 400 problem for anything else; a click of a
message or link we do not know: 404 problem. Nothing is recorded then, and nothing redirects.
"""

import base64
from typing import Annotated
from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.email import tracking
from services.email.domain.tokens import LINK_TOKEN
from shared.errors import BadRequest, FieldError, NotFound
from shared.routes import answers

router = APIGatewayHttpRouter()

Token = Annotated[str, Path(pattern=LINK_TOKEN, description="A signed tracking link")]
URI_CHARACTERS = "/:?#[]@!$&'()*+,;=%~-._"  # RFC 3986's reserved and unreserved characters, and %
NO_STORE = {"Cache-Control": "no-store, no-cache, must-revalidate, max-age=0", "Pragma": "no-cache"}


@router.get(
    "/t/<token>",
    security=[{}],
    responses={
        200: {
            "description": "An open: a 1x1 GIF that no cache keeps",
            "content": {"image/gif": {"schema": {"type": "string", "contentEncoding": "base64"}}},
        },
        302: {"description": "A click: a redirect (Location) to the link of the mail the token names"},
    },
)
@answers(400, 404)  # a forged or altered click token; an open token, message or link we do not know
def follow(token: Token) -> Response[str]:
    try:
        claims = tracking.verified(token)
    except tracking.BadToken as error:
        if tracking.claimed_kind(token) == "open":
            raise NotFound("This link is not valid.") from error
        wrong = FieldError(field="path.token", message="The link is not valid (forged or altered).", code="invalid")
        raise BadRequest("This link is not valid.", [wrong]) from error
    try:
        url = tracking.follow(claims, _origin())
    except tracking.UnknownLink as error:
        raise NotFound("This link is not valid.") from error
    if url is not None:  # as a URI: a link written with spaces or non-ASCII letters is a valid header
        location = quote(url, safe=URI_CHARACTERS)
        return Response(status_code=302, body="", headers={**NO_STORE, "Location": location})
    # The GIF goes base64 as text: the response validation would try to read raw bytes as UTF-8.
    gif = Response(status_code=200, content_type="image/gif", body=base64.b64encode(tracking.PIXEL).decode())
    gif.headers.update(NO_STORE)
    gif.base64_encoded = True
    return gif


def _origin() -> str:
    """The origin this request reached (API Gateway says the scheme in X-Forwarded-Proto)."""
    event = router.current_event
    scheme = event.headers.get("x-forwarded-proto", "https")
    return f"{scheme}://{event.request_context.domain_name}"
