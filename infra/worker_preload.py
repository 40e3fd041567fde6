"""The libraries a preloading runtime's forkserver imports once (infra/functions.py `start_context`).

Every worker forked from it starts with these modules loaded; its environment, its role's checks,
its faults and its handler (from its own code directory) come after the fork, as with a spawned
worker. Only third-party libraries and the worker's own runtime module are imported here: a
function's code (`shared`, `services`) always comes from its code directory. botocore's data files
of the services the functions call are parsed here too, once (infra/botocore_data.py). Importing
this module replaces the process's environment: only the forkserver imports it.

A library that reads the environment while it is imported (or while the warm-up makes its
clients) would read the forkserver's, not the function's: the forkserver does both with the
environment every function shares (Lambda's own variables, LAMBDA_ENVIRONMENT) and nothing else,
and tests/unit/test_worker_preload.py checks that every variable read here has the same value, or
none, in every function of the template.
"""

from __future__ import annotations

import importlib
import os

from infra import botocore_data
from infra.functions import shared_environment

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


def preload() -> None:
    environment = shared_environment()
    os.environ.clear()
    os.environ.update(environment)
    for module in MODULES:
        importlib.import_module(module)
    botocore_data.share()  # every session of a worker reads the data parsed here
    botocore_data.warm()


preload()
