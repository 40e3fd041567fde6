"""The link key's rotation (issue 15 part 3), run against moto's Secrets Manager as Secrets Manager
runs it: the rotation function's four steps, then the links. A link signed before a rotation still
verifies (AWSPREVIOUS), one signed two rotations ago is refused, and the new key signs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from services.email.domain.tokens import BadToken, unseal
from services.email.handlers import link_key_rotation
from services.email.unsubscribe import unsubscribe_token
from shared import secrets, settings

NAME = "kontakt-unit-email-link-key"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


@dataclass
class LambdaContext:
    function_name: str = "kontakt-unit-EmailLinkKeyRotationFunction"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:eu-north-1:123456789012:function:rotation"
    aws_request_id: str = "r-1"


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-north-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("LINK_KEY_SECRET_NAME", NAME)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    settings.load.cache_clear()
    secrets.link_keys.cache_clear()
    link_key_rotation._client.cache_clear()
    with mock_aws():
        secretsmanager = boto3.client("secretsmanager")
        secretsmanager.create_secret(Name=NAME, SecretString="k" * 48)
        yield secretsmanager
    link_key_rotation._client.cache_clear()
    secrets.link_keys.cache_clear()
    settings.load.cache_clear()


def _rotate(client: Any) -> str:
    """What Secrets Manager does: each step of the function with the new version's token."""
    token = str(uuid.uuid4())
    for step in STEPS:
        link_key_rotation.handler({"SecretId": NAME, "ClientRequestToken": token, "Step": step}, LambdaContext())  # type: ignore[arg-type]
    return token


def _verifies(token: str) -> bool:
    """Whether a link verifies as the /u/ and /t/ routes check it: the keys as a process reads them."""
    secrets.link_keys.cache_clear()
    try:
        secrets.verify_with_link_keys(lambda keys: unseal(token, keys), BadToken)
        return True
    except BadToken:
        return False


def _link() -> str:
    """A link signed now, as the sender signs it (the current key)."""
    secrets.link_keys.cache_clear()
    return unsubscribe_token("t1", str(uuid.uuid4()), keys=secrets.link_keys())


def test_links_survive_one_rotation_and_not_two(client: Any) -> None:
    before = _link()
    assert _verifies(before) and secrets.link_keys() == [b"k" * 48]  # never rotated: no previous key

    first = _rotate(client)
    stages = client.describe_secret(SecretId=NAME)["VersionIdsToStages"]
    assert stages[first] == ["AWSCURRENT"] and ["AWSPREVIOUS"] in stages.values()
    new = client.get_secret_value(SecretId=NAME, VersionStage="AWSCURRENT")["SecretString"]
    assert len(new) == 48 and new != "k" * 48
    assert secrets.link_keys(fresh=True) == [new.encode(), b"k" * 48]
    after = _link()
    assert after != before and _verifies(after)
    assert _verifies(before)  # mail sent before the rotation: its links still work

    _rotate(client)
    assert _verifies(after)  # one rotation old
    assert not _verifies(before)  # two rotations old: refused


def test_a_step_run_again_changes_nothing(client: Any) -> None:
    token = str(uuid.uuid4())
    event = {"SecretId": NAME, "ClientRequestToken": token, "Step": "createSecret"}
    link_key_rotation.handler(event, LambdaContext())  # type: ignore[arg-type]
    pending = client.get_secret_value(SecretId=NAME, VersionStage="AWSPENDING")["SecretString"]
    link_key_rotation.handler(event, LambdaContext())  # type: ignore[arg-type]  # Secrets Manager retries a step
    assert client.get_secret_value(SecretId=NAME, VersionStage="AWSPENDING")["SecretString"] == pending
    for step in STEPS[1:]:
        link_key_rotation.handler({**event, "Step": step}, LambdaContext())  # type: ignore[arg-type]
    link_key_rotation.handler({**event, "Step": "finishSecret"}, LambdaContext())  # type: ignore[arg-type]
    assert client.get_secret_value(SecretId=NAME, VersionStage="AWSCURRENT")["SecretString"] == pending
    with pytest.raises(ValueError):  # a version that was never pending
        link_key_rotation.handler(
            {**event, "ClientRequestToken": str(uuid.uuid4()), "Step": "testSecret"}, LambdaContext()
        )  # type: ignore[arg-type]


def test_a_process_reads_the_keys_again_when_a_link_fails_after_a_rotation(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API's cached keys predate a rotation the sender already signs with: the link still works."""
    secrets.link_keys.cache_clear()
    cached = secrets.link_keys()
    _rotate(client)
    signed = unsubscribe_token(
        "t1", "m1", keys=[client.get_secret_value(SecretId=NAME, VersionStage="AWSCURRENT")["SecretString"].encode()]
    )
    monkeypatch.setattr(secrets, "LINK_KEYS_RETRY_AFTER", -1.0)  # the cache is older than the retry age
    secrets.link_keys.keys, secrets.link_keys.read_at = cached, secrets.time.monotonic()
    assert secrets.verify_with_link_keys(lambda keys: unseal(signed, keys), BadToken).message_id == "m1"
