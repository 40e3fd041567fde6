"""The caller of a request to the access API (route parameter types are the kernel's: shared/routes.py)."""

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from services.access.service import Caller
from shared.routes import request_caller


def caller(router: BaseRouter) -> Caller:
    """The caller of the current request, its tenant's defaults installed."""
    return request_caller(router, Caller)
