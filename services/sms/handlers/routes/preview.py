"""What a text costs as SMS, before it is sent."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.sms import preview
from services.sms.domain.preview import SmsPreview, SmsPreviewRequest
from services.sms.handlers.common import caller

router = APIGatewayHttpRouter()


@router.post("/sms/preview")
def preview_text(body: Annotated[SmsPreviewRequest, Body()]) -> SmsPreview:
    return preview.preview(caller(router), body)
