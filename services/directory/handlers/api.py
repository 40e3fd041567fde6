"""The directory's HTTP API (API Gateway HTTP API, payload 2.0), routed by Powertools."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.directory import accounts, admin, imports, target_groups
from services.directory.domain.conditions import (
    TargetGroup,
    TargetGroupCreate,
    TargetGroupMembersChange,
    TargetGroupUpdate,
)
from services.directory.domain.models import (
    Account,
    AccountCreate,
    AccountUpdate,
    Class,
    ClassCreate,
    ClassificationType,
    ClassificationTypeCreate,
    Contact,
    ContactCreate,
    ContactUpdate,
    Group,
    GroupCreate,
    PicklistItem,
    PicklistName,
    PicklistReplace,
    TenantSettings,
    User,
    UserCreate,
    UserUpdate,
)
from services.directory.identity import open_tenant
from services.directory.service import Caller
from services.directory.settings import DirectorySettings
from services.directory.store import DirectoryStore
from shared import api as http
from shared.entry import entry
from shared.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from shared.secrets import signing_key
from shared.settings import load

app = http.create_app("Kontakt directory", "directory")

Id = Annotated[str, Path(pattern=r"^[0-9A-Za-z_.-]{1,64}$")]
Cursor = Annotated[str | None, Query(max_length=2048)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def caller() -> Caller:
    """The caller of the current request, with the tenant's settings loaded (403 for an unknown tenant)."""
    current = Caller(auth=http.auth(app), store=DirectoryStore(), signing_key=signing_key())
    open_tenant(current)
    return current


def no_content() -> Response[None]:
    return Response(status_code=204, body=None)


# ----------------------------------------------------------------------------- accounts


@app.post("/accounts", status_code=201)
def create_account(body: Annotated[AccountCreate, Body()]) -> Account:
    return accounts.create_account(caller(), body)


@app.get("/accounts")
def list_accounts(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[Account]:
    return accounts.list_accounts(caller(), cursor, limit)


@app.get("/accounts/<account_id>")
def get_account(account_id: Id) -> Account:
    return accounts.get_account(caller(), account_id)


@app.patch("/accounts/<account_id>")
def update_account(account_id: Id, body: Annotated[AccountUpdate, Body()]) -> Account:
    return accounts.update_account(caller(), account_id, body)


@app.delete("/accounts/<account_id>")
def delete_account(account_id: Id) -> Response[None]:
    accounts.delete_account(caller(), account_id)
    return no_content()


# ----------------------------------------------------------------------------- contacts


@app.post("/contacts", status_code=201)
def create_contact(body: Annotated[ContactCreate, Body()]) -> Contact:
    return accounts.create_contact(caller(), body)


@app.get("/contacts")
def list_contacts(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    account_id: Annotated[str | None, Query(pattern=r"^[0-9A-Za-z_-]{1,64}$")] = None,
) -> Page[Contact]:
    return accounts.list_contacts(caller(), cursor, limit, account_id)


@app.get("/contacts/<contact_id>")
def get_contact(contact_id: Id) -> Contact:
    return accounts.get_contact(caller(), contact_id)


@app.patch("/contacts/<contact_id>")
def update_contact(contact_id: Id, body: Annotated[ContactUpdate, Body()]) -> Contact:
    return accounts.update_contact(caller(), contact_id, body)


@app.delete("/contacts/<contact_id>")
def delete_contact(contact_id: Id) -> Response[None]:
    accounts.delete_contact(caller(), contact_id)
    return no_content()


@app.get("/contacts/<contact_id>/export")
def export_contact(contact_id: Id) -> dict[str, Any]:
    return accounts.export_contact(caller(), contact_id)


@app.post("/contacts/<contact_id>/erase")
def erase_contact(contact_id: Id) -> Contact:
    return accounts.erase(caller(), contact_id)


# ----------------------------------------------------------------------------- users and groups


@app.post("/users", status_code=201)
def create_user(body: Annotated[UserCreate, Body()]) -> User:
    return admin.create_user(caller(), body)


@app.get("/users")
def list_users(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[User]:
    return admin.list_users(caller(), cursor, limit)


@app.get("/users/<user_id>")
def get_user(user_id: Id) -> User:
    return admin.get_user(caller(), user_id)


@app.patch("/users/<user_id>")
def update_user(user_id: Id, body: Annotated[UserUpdate, Body()]) -> User:
    return admin.update_user(caller(), user_id, body)


@app.post("/groups", status_code=201)
def create_group(body: Annotated[GroupCreate, Body()]) -> Group:
    return admin.create_group(caller(), body)


@app.get("/groups")
def list_groups(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[Group]:
    return admin.list_groups(caller(), cursor, limit)


@app.get("/groups/<group_id>")
def get_group(group_id: Id) -> Group:
    return admin.get_group(caller(), group_id)


# ----------------------------------------------------------------------------- picklists and settings


@app.get("/picklists/<name>")
def get_picklist(name: Annotated[PicklistName, Path()]) -> list[PicklistItem]:
    return admin.get_picklist(caller(), name)


@app.put("/picklists/<name>")
def replace_picklist(
    name: Annotated[PicklistName, Path()], body: Annotated[PicklistReplace, Body()]
) -> list[PicklistItem]:
    return admin.replace_picklist(caller(), name, body)


@app.get("/settings")
def get_settings() -> TenantSettings:
    return admin.get_settings(caller())


@app.put("/settings")
def replace_settings(body: Annotated[TenantSettings, Body()]) -> TenantSettings:
    return admin.replace_settings(caller(), body)


# ----------------------------------------------------------------------------- classes


@app.post(
    "/classification-types",
    status_code=201,
)
def create_classification_type(body: Annotated[ClassificationTypeCreate, Body()]) -> ClassificationType:
    return admin.create_classification_type(caller(), body)


@app.get("/classification-types")
def list_classification_types(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[ClassificationType]:
    return admin.list_classification_types(caller(), cursor, limit)


@app.get("/classification-types/<type_id>")
def get_classification_type(type_id: Id) -> ClassificationType:
    return admin.get_classification_type(caller(), type_id)


@app.post("/classes", status_code=201)
def create_class(body: Annotated[ClassCreate, Body()]) -> Class:
    return admin.create_class(caller(), body)


@app.get("/classes")
def list_classes(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[Class]:
    return admin.list_classes(caller(), cursor, limit)


@app.get("/classes/<class_id>")
def get_class(class_id: Id) -> Class:
    return admin.get_class(caller(), class_id)


# ----------------------------------------------------------------------------- target groups


@app.post(
    "/target-groups",
    status_code=201,
)
def create_target_group(body: Annotated[TargetGroupCreate, Body()]) -> TargetGroup:
    return target_groups.create(caller(), body)


@app.get("/target-groups")
def list_target_groups(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[TargetGroup]:
    return target_groups.list_groups(caller(), cursor, limit)


@app.get("/target-groups/<group_id>")
def get_target_group(group_id: Id) -> TargetGroup:
    return target_groups.get(caller(), group_id)


@app.patch("/target-groups/<group_id>")
def update_target_group(group_id: Id, body: Annotated[TargetGroupUpdate, Body()]) -> TargetGroup:
    return target_groups.update(caller(), group_id, body)


@app.delete("/target-groups/<group_id>")
def delete_target_group(group_id: Id) -> Response[None]:
    target_groups.delete(caller(), group_id)
    return no_content()


@app.post("/target-groups/<group_id>/members")
def change_target_group_members(group_id: Id, body: Annotated[TargetGroupMembersChange, Body()]) -> TargetGroup:
    return target_groups.change_members(caller(), group_id, body)


@app.get("/target-groups/<group_id>/preview")
def preview_target_group(group_id: Id) -> target_groups.Preview:
    return target_groups.preview(caller(), group_id)


# ----------------------------------------------------------------------------- imports


@app.post(
    "/imports",
    status_code=201,
)
def create_import(body: Annotated[imports.ImportRequest, Body()]) -> imports.ImportJob:
    return imports.create_job(caller(), body, load(DirectorySettings).imports_bucket)


@app.get("/imports/<import_id>")
def get_import(import_id: Id) -> imports.ImportJob:
    return imports.get_job(caller(), import_id)


@app.get("/imports/<import_id>/rows")
def list_import_rows(import_id: Id, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[imports.RowReport]:
    return imports.list_rows(caller(), import_id, cursor, limit)


# ----------------------------------------------------------------------------- entry point


def openapi_document() -> Response[str]:
    return Response(status_code=200, content_type="application/json", body=openapi_json())


def openapi_json() -> str:
    return app.get_openapi_json_schema(title="Kontakt directory", version="1.0.0")


@entry(DirectorySettings, http=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
