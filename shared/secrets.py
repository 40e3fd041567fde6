"""The signing keys: cursors' (and legacy public links'), and the public links', read from Secrets Manager."""

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


def link_keys() -> list[bytes]:
    """The keys that sign and verify public links (unsubscribe, tracking), the signing one first."""
    return [signing_key()]
