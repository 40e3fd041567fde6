"""Contact orders [003]: documents uploaded to an order."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.activities import order_files
from services.activities.domain.models import Attachment, AttachmentCreate, AttachmentDownload, AttachmentUpload
from services.activities.handlers.common import caller
from shared.routes import Id, answers, located, no_content

router = APIGatewayHttpRouter()


@router.post("/contact-orders/<order_id>/files", status_code=201)
@located("/contact-orders/{order_id}/files/{attachment.id}")
def start_file(order_id: Id, body: Annotated[AttachmentCreate, Body()]) -> AttachmentUpload:
    return order_files.start_file(caller(router), order_id, body)


@router.post("/contact-orders/<order_id>/files/<file_id>/complete")
def complete_file(order_id: Id, file_id: Id) -> Attachment:
    return order_files.complete_file(caller(router), order_id, file_id)


@router.get("/contact-orders/<order_id>/files/<file_id>")
@answers(409)  # a file not uploaded (or refused) yet
def download_file(order_id: Id, file_id: Id) -> AttachmentDownload:
    return order_files.download_file(caller(router), order_id, file_id)


@router.delete("/contact-orders/<order_id>/files/<file_id>")
def delete_file(order_id: Id, file_id: Id) -> Response[None]:
    order_files.delete_file(caller(router), order_id, file_id)
    return no_content()
