"""The libraries a preloading runtime's forkserver imports once (infra/functions.py `start_context`).

Every worker forked from it starts with these modules loaded; its environment, its role's checks,
its faults and its handler (from its own code directory) come after the fork, as with a spawned
worker. Only third-party libraries and the worker's own runtime module are imported here: a
function's code (`shared`, `services`) always comes from its code directory.

A library that reads the environment while it is imported would read the forkserver's, not the
function's: the forkserver imports with the environment every function shares (Lambda's own
variables, LAMBDA_ENVIRONMENT) and nothing else, and tests/unit/test_worker_preload.py checks that
every variable read here is one of those or one that no function of the template sets.
"""

from __future__ import annotations

import importlib
import os

from infra.functions import LAMBDA_ENVIRONMENT, inherited_environment

MODULES = (
    "boto3",
    "botocore.client",
    "botocore.exceptions",
    "pydantic",
    "pydantic.json_schema",
    "pydantic_core",
    "pynamodb.models",
    "pynamodb.attributes",
    "pynamodb.exceptions",
    "pynamodb.indexes",
    "pynamodb.transactions",
    "aws_lambda_powertools",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.event_handler.api_gateway",
    "aws_lambda_powertools.event_handler.router",
    "aws_lambda_powertools.event_handler.openapi.params",
    "aws_lambda_powertools.event_handler.openapi.models",
    "aws_lambda_powertools.utilities.typing",
)


def shared_environment() -> dict[str, str]:
    """The environment every worker has before its function's own variables."""
    return {**inherited_environment(), **LAMBDA_ENVIRONMENT}


def preload() -> None:
    environment = shared_environment()
    os.environ.clear()
    os.environ.update(environment)
    for module in MODULES:
        importlib.import_module(module)


preload()
