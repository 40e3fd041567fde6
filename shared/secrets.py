"""The signing key for cursors and public tokens, read from Secrets Manager once per process."""

from functools import cache

from aws_lambda_powertools.utilities import parameters

from shared.settings import FunctionSettings, load


@cache
def signing_key() -> bytes:
    name = load(FunctionSettings).cursor_secret_name
    if not name:
        raise RuntimeError("CURSOR_SECRET_NAME is not set")
    value = parameters.get_secret(name, max_age=3600)
    return str(value).encode()
