"""Routes of the mass feature (filled in by its module)."""

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

router = APIGatewayHttpRouter()
