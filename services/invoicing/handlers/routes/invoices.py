"""Invoices, billing runs and the tenant's invoicing settings (managers and admins; runs and settings
changes: admins)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.invoicing import billing_runs, invoices, sending
from services.invoicing.domain.invoices import (
    Invoice,
    InvoiceStatus,
    InvoiceSummary,
    InvoicingSettings,
    InvoicingSettingsUpdate,
    Run,
    RunCreate,
    RunPreview,
)
from services.invoicing.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, OptIdQuery, answers

router = APIGatewayHttpRouter()


@router.get("/invoices")
@answers(301)  # a merged account's id: the same list on the survivor
def list_invoices(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    account_id: OptIdQuery = None,
    status: InvoiceStatus | None = None,
) -> Page[InvoiceSummary]:
    return invoices.list_invoices(caller(router), cursor, limit, account_id, status)


@router.get("/invoices/<invoice_id>")
def get_invoice(invoice_id: Id) -> Invoice:
    return invoices.get_invoice(caller(router), invoice_id)


@router.post("/invoices/<invoice_id>/issue")
@answers(409)
def issue_invoice(invoice_id: Id) -> Invoice:
    return invoices.issue_invoice(caller(router), invoice_id)


@router.post("/invoices/<invoice_id>/paid")
@answers(409)
def mark_invoice_paid(invoice_id: Id) -> Invoice:
    return invoices.mark_paid(caller(router), invoice_id)


@router.post("/invoices/<invoice_id>/credit", status_code=201)
@answers(409)
def credit_invoice(invoice_id: Id) -> Invoice:
    return invoices.credit_invoice(caller(router), invoice_id)


@router.post("/invoices/<invoice_id>/send")
@answers(409)
def send_invoice(invoice_id: Id, body: Annotated[sending.InvoiceSend, Body()]) -> Invoice:
    return sending.send_invoice(caller(router), invoice_id, body)


@router.get("/invoicing/settings")
def get_invoicing_settings() -> InvoicingSettings:
    return invoices.get_settings(caller(router, invoices.SETTING))


@router.patch("/invoicing/settings")
def update_invoicing_settings(body: Annotated[InvoicingSettingsUpdate, Body()]) -> InvoicingSettings:
    return invoices.update_settings(caller(router, invoices.SETTING), body)


@router.get("/invoicing/runs")
def list_invoicing_runs(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[Run]:
    return billing_runs.list_runs(caller(router), cursor, limit)


@router.post(
    "/invoicing/runs",
    status_code=202,
    responses={
        202: {
            "description": "The run, queued: the jobs function bills it chunk by chunk; "
            "`GET /invoicing/runs/{id}` (its `Location`) shows its progress",
            "headers": {"Location": {"$ref": "#/components/headers/Location"}},  # type: ignore[typeddict-unknown-key]
        }
    },
)
def start_invoicing_run(body: Annotated[RunCreate, Body()]) -> Response[Run]:
    run = billing_runs.start_run(caller(router), body)
    return Response(
        status_code=202,
        content_type="application/json",
        body=run,
        headers={"Location": f"/invoicing/runs/{run.id}"},
    )


@router.post("/invoicing/runs/preview")
def preview_invoicing_run(
    body: Annotated[RunCreate, Body()], cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> RunPreview:
    return billing_runs.preview_run(caller(router), body, cursor, limit)


@router.get("/invoicing/runs/<run_id>")
def get_invoicing_run(run_id: Id) -> Run:
    return billing_runs.get_run(caller(router), run_id)
