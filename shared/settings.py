"""Function settings: one pydantic-settings class per function, read once at cold start."""

from functools import cache
from typing import TypeVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class FunctionSettings(BaseSettings):
    """What every Kontakt function reads from its environment (set by template.yaml)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

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

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    jobs_queue_arn: str = ""
    scheduler_role_arn: str = ""
    schedule_group: str = "default"


S = TypeVar("S", bound=BaseSettings)


@cache
def load(settings_class: type[S]) -> S:
    """Read a settings class from the environment once per process."""
    return settings_class()
