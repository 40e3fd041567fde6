"""Routes of the marketing feature (filled in by its module)."""

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

router = APIGatewayHttpRouter()
