"""Rotates the public links' signing key (template.yaml's EmailLinkKeySecret): Secrets Manager calls
this function with each of the four rotation steps (`shared.secrets.rotate_signing_key`). The
previous key keeps verifying the links of mail already sent until the next rotation."""

from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.entry import entry
from shared.secrets import rotate_signing_key


@cache
def _client() -> Any:
    return boto3.client("secretsmanager")


@entry(None, metered=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    rotate_signing_key(event, _client())
    return {}
