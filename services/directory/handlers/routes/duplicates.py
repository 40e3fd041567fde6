"""Duplicate accounts and contacts: scans of the tenant, the groups they found, dismissals."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.directory import duplicate_scans as scans
from services.directory import merges
from services.directory.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit

router = APIGatewayHttpRouter()


@router.post(
    "/duplicates/scans",
    status_code=202,
    responses={
        202: {
            "description": "The scan, queued: the scan function reads and matches the records; "
            "`GET /duplicates/scans/{scan_id}` (its `Location`) shows its progress",
            "headers": {"Location": {"$ref": "#/components/headers/Location"}},  # type: ignore[typeddict-unknown-key]
        }
    },
)
def start_duplicate_scan(body: Annotated[scans.ScanRequest, Body()]) -> Response[scans.DuplicateScan]:
    scan = scans.start_scan(caller(router), body)
    return Response(
        status_code=202,
        content_type="application/json",
        body=scan,
        headers={"Location": f"/duplicates/scans/{scan.id}"},
    )


@router.get("/duplicates/scans/<scan_id>")
def get_duplicate_scan(scan_id: Id) -> scans.DuplicateScan:
    return scans.get_scan(caller(router), scan_id)


@router.get("/duplicates")
def list_duplicates(
    entity: Annotated[scans.Entity, Query(description="Which records' groups: `contacts` or `accounts`")],
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[scans.DuplicateGroup]:
    return scans.list_groups(caller(router), entity, cursor, limit)


@router.post("/duplicates/merge")
def merge_duplicates(body: Annotated[merges.MergeRequest, Body()]) -> merges.MergeResult:
    return merges.merge(caller(router), body)


@router.post("/duplicates/<group_id>/dismiss")
def dismiss_duplicates(group_id: Id) -> scans.Dismissal:
    return scans.dismiss(caller(router), group_id)
