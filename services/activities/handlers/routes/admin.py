"""Tenant lists: activity types and the CRM classification (kinds, types, properties, categories)."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.activities import admin
from services.activities.domain.crm import CrmCategoryList, CrmCodeList, CrmSettings
from services.activities.domain.models import ActivityType, ActivityTypeList
from services.activities.handlers.common import caller

router = APIGatewayHttpRouter()

CodeListName = Annotated[Literal["kinds", "types", "properties"], Path()]


@router.get("/activity-types")
def list_activity_types() -> list[ActivityType]:
    return admin.activity_types(caller(router, admin.ACTIVITY_TYPES))


@router.put("/activity-types")
def replace_activity_types(body: Annotated[ActivityTypeList, Body()]) -> list[ActivityType]:
    return admin.replace_activity_types(caller(router, admin.ACTIVITY_TYPES), body.items)


@router.get("/crm/settings")
def get_crm_settings() -> CrmSettings:
    return admin.crm_settings(caller(router, admin.CRM))


@router.put("/crm/categories")
def replace_crm_categories(body: Annotated[CrmCategoryList, Body()]) -> CrmSettings:
    return admin.replace_crm_list(caller(router, admin.CRM), "categories", body.items)


@router.put("/crm/<list_name>")
def replace_crm_list(list_name: CodeListName, body: Annotated[CrmCodeList, Body()]) -> CrmSettings:
    return admin.replace_crm_list(caller(router, admin.CRM), list_name, body.items)
