"""The caller of a request to the invoicing API (route parameter types are the kernel's: shared/routes.py)."""

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from services.invoicing.service import Caller
from shared.routes import request_caller


def caller(router: BaseRouter, setting: str | None = None) -> Caller:
    """The caller of the current request, its tenant's defaults installed; `setting`: the tenant
    setting a route is about (If-Match, ETag: `shared.preconditions`)."""
    return request_caller(router, Caller, setting)
