"""Fixtures of the email e2e tests."""

from __future__ import annotations

import pytest

from infra.runtime import LocalRuntime


@pytest.fixture(scope="session")
def key(stack: LocalRuntime) -> bytes:
    """The stack's signing key (its cursor-key secret), as the sender signs the links it puts in a mail."""
    secrets = stack.client("secretsmanager")
    name = next(s["Name"] for s in secrets.list_secrets()["SecretList"] if s["Name"].endswith("-cursor-key"))
    return str(secrets.get_secret_value(SecretId=name)["SecretString"]).encode()
