"""Cognito user pool trigger events as Amazon Cognito's developer guide documents them."""

from __future__ import annotations

from typing import Any


def cognito_event(trigger_source: str, user_name: str, request: dict[str, Any], response: Any) -> dict[str, Any]:
    """An event with the fields every trigger gets, and this trigger's request and response."""
    return {
        "version": "1",
        "triggerSource": trigger_source,
        "region": "eu-north-1",
        "userPoolId": "eu-north-1_EXAMPLE",
        "userName": user_name,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "1example23456789"},
        "request": request,
        "response": response,
    }
