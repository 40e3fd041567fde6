"""The tenant's picklists: the values some account and contact fields take."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.directory import admin
from services.directory.domain.models import PicklistItem, PicklistName, PicklistReplace
from services.directory.handlers.common import caller

router = APIGatewayHttpRouter()

Name = Annotated[PicklistName, Path()]


@router.get("/picklists/<name>")
def get_picklist(name: Name) -> list[PicklistItem]:
    return admin.get_picklist(caller(router), name)


@router.put("/picklists/<name>")
def replace_picklist(name: Name, body: Annotated[PicklistReplace, Body()]) -> list[PicklistItem]:
    return admin.replace_picklist(caller(router), name, body)
