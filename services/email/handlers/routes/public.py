"""The public unsubscribe link `/u/{token}`: no login, the signed token names the mail whose opt-out it is.

- POST `List-Unsubscribe=One-Click` (RFC 8058, what mail clients send): opt out at once.
- GET: a small landing page with the list type, the masked address and a button to
  unsubscribe or to subscribe again, which POSTs back `action=unsubscribe|subscribe`.
A campaign mail's token names its message: unsubscribing through it stamps that recipient's mail.
"""

from html import escape
from typing import Annotated
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.email import list_types
from services.email.domain.list_types import TokenClaims, masked
from services.email.domain.tokens import LINK_TOKEN
from services.email.service import Caller, service_caller
from services.email.unsubscribe import BadToken, UnsubscribeClaims, resolve
from shared.errors import BadRequest, FieldError, NotFound
from shared.routes import answers

router = APIGatewayHttpRouter()

Token = Annotated[str, Path(pattern=LINK_TOKEN, description="A signed link")]
HTML = "text/html; charset=utf-8"
PAGE: dict[int, OpenAPIResponse] = {
    200: {"description": "The landing page", "content": {"text/html": {"schema": {"type": "string"}}}}
}


def _claims(token: str) -> UnsubscribeClaims:
    try:
        return resolve(token)
    except BadToken as error:
        raise NotFound("This link is not valid (or has expired).") from error


def _form() -> dict[str, str]:
    body = router.current_event.decoded_body or ""
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


def _page(caller: Caller, claims: TokenClaims, note: str = "") -> Response[str]:
    name = list_types.get_list_type(caller, claims.list_type_id).name
    out = list_types.is_opted_out(caller, claims.address, claims.list_type_id)
    state = "You do not receive these emails." if out else "You receive these emails."
    action, label = ("subscribe", "Subscribe again") if out else ("unsubscribe", "Unsubscribe")
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{escape(name)}</title></head>
<body><main>
<h1>{escape(name)}</h1>
<p>Address: <span id="address">{escape(masked(claims.address))}</span></p>
{f'<p id="note">{escape(note)}</p>' if note else ""}
<p id="state">{escape(state)}</p>
<form method="post"><input type="hidden" name="action" value="{escape(action)}">
<button type="submit" id="{escape(action)}">{escape(label)}</button></form>
</main></body></html>
"""
    return Response(status_code=200, content_type=HTML, body=body, headers={"Cache-Control": "no-store"})


@router.get("/u/<token>", security=[{}], responses=PAGE)
@answers(404)  # a link that is not valid
def landing_page(token: Token) -> Response[str]:
    claims = _claims(token)
    return _page(service_caller(claims.tenant), claims)


@router.post("/u/<token>", security=[{}], responses=PAGE)
@answers(400, 404)  # a form that names no action; a link that is not valid
def unsubscribe(token: Token) -> Response[str]:
    claims = _claims(token)
    caller = service_caller(claims.tenant)
    form = _form()
    if form.get("List-Unsubscribe") == "One-Click":
        list_types.opt_out(
            caller, claims.address, claims.list_type_id, claims.contact_id, "one_click", claims.message_id
        )
        return _page(caller, claims, "You have been unsubscribed.")
    action = form.get("action")
    if action == "unsubscribe":
        list_types.opt_out(
            caller, claims.address, claims.list_type_id, claims.contact_id, "landing_page", claims.message_id
        )
        return _page(caller, claims, "You have been unsubscribed.")
    if action == "subscribe":
        list_types.opt_in(caller, claims.address, claims.list_type_id)
        return _page(caller, claims, "You have subscribed again.")
    wrong = FieldError(field="body.action", message="send action=unsubscribe or action=subscribe", code="invalid")
    raise BadRequest("Nothing to do: the form names no action.", [wrong])
