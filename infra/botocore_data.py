"""One botocore data loader for a whole process: the test process, and a test stack's workers.

botocore parses its JSON data files (endpoints.json, each service's model, its endpoint rules)
once per session, into the session's loader; pynamodb makes a session per connection and thread.
The integration tests run handlers in the test process, each with the connections a cold start
makes, several in threads: 410 sessions in tests/integration, and parsing the same files again
was half of that process's CPU. The loader keeps what it parsed (botocore's own cache), so every
session of the process shares it; what is sent or answered does not change.

A test stack's forkserver (infra/worker_preload.py) shares one too and parses the files of the
services the functions call (`warm`): each worker forked from it finds them parsed, where a
spawned worker parses them at its first client and again at pynamodb's (~0.1 CPU s a cold start).
"""

from __future__ import annotations

import functools

import botocore.session
from botocore import loaders

from infra.account import REGION


class _SearchPaths(list[str]):
    """boto3 adds its data folder to its session's loader's search paths: to the shared one once."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


@functools.cache
def _shared_loader(search_path_string: str | None = None) -> loaders.Loader:
    loader = loaders.create_loader(search_path_string)
    loader._search_paths = _SearchPaths(loader.search_paths)
    return loader


def share() -> None:
    """Every botocore session made from now on in this process uses one loader (per data path)."""
    botocore.session.create_loader = _shared_loader


# The AWS services Kontakt's functions make clients for.
SERVICES = ("dynamodb", "sqs", "events", "s3", "sesv2", "secretsmanager", "scheduler", "pinpoint-sms-voice-v2")


def warm(services: tuple[str, ...] = SERVICES) -> None:
    """Make a client of each service once, in a session thrown away after: the shared loader keeps
    the data files parsed and botocore's modules imported on a first client stay imported."""
    import boto3

    session = boto3.Session(region_name=REGION, aws_access_key_id="warm", aws_secret_access_key="warm")
    for service in services:
        session.client(service, endpoint_url="http://127.0.0.1:9")
