"""infra/botocore_data.py: every botocore session of the test process shares one data loader."""

from __future__ import annotations

import boto3
import botocore.session


def test_sessions_share_the_parsed_data_and_clients_still_work() -> None:
    first, second = botocore.session.get_session(), botocore.session.get_session()
    loader = first.get_component("data_loader")
    assert second.get_component("data_loader") is loader
    model = first.get_service_model("dynamodb")
    assert second.get_service_model("dynamodb").operation_names == model.operation_names
    for _ in range(3):  # boto3 adds its data folder to its session's loader: once to the shared one
        boto3.session.Session(region_name="eu-north-1")
    assert len(loader.search_paths) == len(set(loader.search_paths))
    assert any(path.endswith("boto3/data") for path in loader.search_paths)
    client = second.create_client(
        "dynamodb", region_name="eu-north-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    assert client.meta.service_model.service_name == "dynamodb"
    assert "PutItem" in client.meta.service_model.operation_names
