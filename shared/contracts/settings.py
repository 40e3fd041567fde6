"""`setting.updated`: a tenant setting changed. The kernel publishes it for every service
(`shared.service.Caller.stage_setting`), with the setting's fields old -> new in the envelope's
`changes` (secrets masked), so no service's settings are missing from the audit trail."""

from pydantic import BaseModel, Field

from shared.contracts.access import PRODUCERS
from shared.events import catalogue


class SettingChanged(BaseModel):
    id: str = Field(description="`<service>-<setting>` (dots as dashes): which setting, the audit trail's entity id")
    service: str = Field(description="The service the setting belongs to")
    name: str = Field(description="The setting's name in its service (e.g. `picklist.category`, `duplicates.contacts`)")


def setting_id(service: str, name: str) -> str:
    """A setting's id as events and the audit trail name it: an id's characters only."""
    return f"{service}-{name}".replace(".", "-")


catalogue.register(
    "setting.updated",
    SettingChanged,
    producer=PRODUCERS,
    description="A tenant setting changed (its fields old -> new in `changes`; secrets shown as [secret]).",
)
