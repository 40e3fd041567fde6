"""KONTAKT_FAULTS: the local runtime's unreliable cloud (infra/faults.py `Unreliable`)."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from infra.faults import Unreliable, inject_unreliable


def _client(unreliable: Unreliable, service: str) -> object:
    client = boto3.client(
        service,
        region_name="eu-north-1",
        endpoint_url="http://127.0.0.1:9",  # nothing listens: only an injected answer comes back
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=1, read_timeout=1),
    )
    client.meta.events.register(f"before-send.{service}", unreliable.before_send)
    return client


@pytest.mark.parametrize("service", ["dynamodb", "sesv2"])
def test_a_failed_call_is_answered_as_aws_answers_and_retried_by_the_sdk(service: str) -> None:
    unreliable = Unreliable(1.0, "18")
    client = _client(unreliable, service)
    with pytest.raises(ClientError) as raised:
        if service == "dynamodb":
            client.get_item(TableName="t", Key={"pk": {"S": "a"}})  # type: ignore[attr-defined]
        else:
            client.get_account()  # type: ignore[attr-defined]
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] in (400, 500, 503)
    assert error["Error"]["Code"] in (
        "ThrottlingException",
        "InternalServerError",
        "ServiceUnavailable",
        "InternalFailure",
    )
    assert unreliable.failed >= 3  # the SDK retried it, each attempt answered so


def test_the_share_follows_the_seed_and_is_off_by_default() -> None:
    assert inject_unreliable({}) is None and inject_unreliable({"KONTAKT_FAULTS": "0"}) is None
    draws = [Unreliable(0.05, "18") for _ in range(2)]
    picks = [[u._random.random() < u.rate for _ in range(2000)] for u in draws]
    assert picks[0] == picks[1]  # the same seed, process and function: the same calls fail
    assert 60 <= sum(picks[0]) <= 140  # about 5 %
