"""The stack's signing keys, read from Secrets Manager.

- `signing_key`: the cursor secret (`CURSOR_SECRET_NAME`), once per process: pagination cursors,
  calendar feeds, and public links of the claims format (honoured until the email service's
  LEGACY_LINKS_UNTIL).
- `link_keys`: the public links' secret (`LINK_KEY_SECRET_NAME`, template.yaml's
  `EmailLinkKeySecret`), rotated by Secrets Manager (`rotate_signing_key`, the rotation function's
  four steps): its AWSCURRENT version signs, AWSPREVIOUS still verifies, so a link in a mail sent
  just before a rotation works until the rotation after it, and one signed two rotations ago no
  longer does. Read at most every LINK_KEYS_MAX_AGE seconds; `verify_with_link_keys` reads them
  again once when a link fails with keys older than a minute (a rotation since).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from shared.observability import logger
from shared.settings import FunctionSettings, load

T = TypeVar("T")

LINK_KEYS_MAX_AGE = 300.0  # seconds the link keys are kept before they are read again
LINK_KEYS_RETRY_AFTER = 60.0  # a link that fails with keys older than this: read them again, once
CURRENT, PREVIOUS, PENDING = "AWSCURRENT", "AWSPREVIOUS", "AWSPENDING"
KEY_LENGTH = 48  # characters of a generated key (as CursorSecret's GenerateSecretString)


@cache
def signing_key() -> bytes:
    name = load(FunctionSettings).cursor_secret_name
    if not name:
        raise RuntimeError("CURSOR_SECRET_NAME is not set")
    # imported here: with boto3 (~20 ms), a cold start pays it only when it reads the key
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(name, max_age=3600)
    return str(value).encode()


class LinkSettings(FunctionSettings):
    link_key_secret_name: str = ""


class _LinkKeys:
    """`link_keys()`: [AWSCURRENT, AWSPREVIOUS] of the link secret (the previous one when it has one)."""

    def __init__(self) -> None:
        self.read_at = float("-inf")
        self.keys: list[bytes] = []

    def __call__(self, fresh: bool = False) -> list[bytes]:
        if fresh or time.monotonic() - self.read_at > LINK_KEYS_MAX_AGE:
            self.keys = _read_link_keys()
            self.read_at = time.monotonic()
        return self.keys

    def stale(self) -> bool:
        return time.monotonic() - self.read_at > LINK_KEYS_RETRY_AFTER

    def cache_clear(self) -> None:
        self.read_at = float("-inf")


def _read_link_keys() -> list[bytes]:
    name = load(LinkSettings).link_key_secret_name
    if not name:
        raise RuntimeError("LINK_KEY_SECRET_NAME is not set")
    import boto3

    client = boto3.client("secretsmanager")
    keys = [str(client.get_secret_value(SecretId=name, VersionStage=CURRENT)["SecretString"]).encode()]
    try:
        keys.append(str(client.get_secret_value(SecretId=name, VersionStage=PREVIOUS)["SecretString"]).encode())
    except ClientError as error:  # never rotated yet: no previous version
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    return keys


link_keys = _LinkKeys()


def verify_with_link_keys(check: Callable[[list[bytes]], T], refused: type[Exception]) -> T:
    """`check(link_keys())`; when it raises `refused` with keys read over a minute ago, once more
    with the keys read again (a rotation may have made a key this process does not know yet)."""
    try:
        return check(link_keys())
    except refused:
        if not link_keys.stale():
            raise
    return check(link_keys(fresh=True))


# ----------------------------------------------------------------------------- rotation


def rotate_signing_key(event: dict[str, Any], client: Any) -> None:
    """One step of a Secrets Manager rotation of a random signing key (`Step`: createSecret,
    setSecret, testSecret, finishSecret; `ClientRequestToken`: the new version's id).

    create: a new random key as the AWSPENDING version (once: a retried step keeps it); set:
    nothing, the key is ours alone; test: the pending key is a key; finish: AWSCURRENT moves to it
    (and AWSPENDING leaves it), and Secrets Manager moves AWSPREVIOUS to the key it replaces (still
    accepted, `link_keys`). A step run again after its rotation finished does nothing."""
    secret, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    stages = client.describe_secret(SecretId=secret).get("VersionIdsToStages") or {}
    if CURRENT in stages.get(token, []):
        logger.info("rotation already finished", extra={"step": step})
        return
    if token in stages and PENDING not in stages[token]:
        raise ValueError(f"version {token} is not pending rotation")
    if token not in stages and step != "createSecret":
        raise ValueError(f"version {token} has no stage for rotation")
    if step == "createSecret":
        try:
            client.get_secret_value(SecretId=secret, VersionId=token, VersionStage=PENDING)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            value = client.get_random_password(PasswordLength=KEY_LENGTH, ExcludePunctuation=True)["RandomPassword"]
            client.put_secret_value(
                SecretId=secret, ClientRequestToken=token, SecretString=value, VersionStages=[PENDING]
            )
    elif step == "setSecret":
        return
    elif step == "testSecret":
        pending = client.get_secret_value(SecretId=secret, VersionId=token, VersionStage=PENDING)["SecretString"]
        if len(str(pending)) < 32:
            raise ValueError("the pending key is too short")
    elif step == "finishSecret":
        current = next((version for version, names in stages.items() if CURRENT in names), None)
        client.update_secret_version_stage(
            SecretId=secret, VersionStage=CURRENT, MoveToVersionId=token, RemoveFromVersionId=current
        )
        client.update_secret_version_stage(SecretId=secret, VersionStage=PENDING, RemoveFromVersionId=token)
    else:
        raise ValueError(f"unknown rotation step {step}")
