"""Function settings: one settings class per function, read from the environment once at cold start.

A settings class is a plain frozen pydantic model whose fields are read from the process
environment when it is created: a field `table_name` from `TABLE_NAME`, a field with a
`validation_alias` from that variable, names matched case-insensitively, values given to the
constructor taking precedence. pydantic-settings did the same for 25-40 ms of every cold start
(its sources import asyncio, dotenv, tempfile...: docs/decisions.md, "Cold start"); these classes
need only its environment source.
"""

import os
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field


def environment_values(settings_class: type[BaseModel], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The values of a settings class's fields found in the environment, keyed as it validates them."""
    found = {name.lower(): value for name, value in (os.environ if environ is None else environ).items()}
    values = {}
    for name, field in settings_class.model_fields.items():
        key = field.validation_alias if isinstance(field.validation_alias, str) else field.alias or name
        if key.lower() in found:
            values[key] = found[key.lower()]
    return values


class BaseSettings(BaseModel):
    """A function's settings: its fields from the environment (set by template.yaml), frozen."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**environment_values(type(self)), **values})


class FunctionSettings(BaseSettings):
    """What every Kontakt function reads from its environment (set by template.yaml)."""

    stage: str = "dev"
    service_name: str = Field("kontakt", validation_alias="POWERTOOLS_SERVICE_NAME")
    event_bus_name: str = "kontakt-dev"
    cursor_secret_name: str = ""


class TableSettings(FunctionSettings):
    """A function that owns a service table."""

    table_name: str


class SchedulerSettings(BaseSettings):
    """A function that writes its service's EventBridge Scheduler schedules (shared/scheduler.py):
    the service's jobs queue they put jobs on, the role they do it as, the stack's schedule group."""

    jobs_queue_arn: str = ""
    scheduler_role_arn: str = ""
    schedule_group: str = "default"


S = TypeVar("S", bound=BaseSettings)


@cache
def load(settings_class: type[S]) -> S:
    """Read a settings class from the environment once per process."""
    return settings_class()
