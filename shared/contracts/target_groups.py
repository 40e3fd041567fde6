"""What the directory announces about its target groups, for the services that evaluate them.

Apart from `directory.py` because a target group's conditions are the kernel's condition models
(`shared/conditions.py`): a service that reads only the directory's contacts and accounts (the
contacts projection, an invoicing customer, the audit trail) does not load them at its cold start.
The directory's target group module, which publishes these events, imports this one; the
services that keep target groups (`shared/target_groups.py`) read them with these very models.
"""

from pydantic import BaseModel, Field

from shared.conditions import Condition, Match
from shared.contracts.directory import PRODUCER, RecordDeleted
from shared.events import catalogue


class TargetGroupChanged(BaseModel):
    """A target group as it now is: enough to evaluate its dynamic part elsewhere.

    `conditions` and `match` are as the API shows them; evaluate them with
    `shared.conditions.matches`. Hand-added members are not part of the event.
    """

    id: str
    name: str
    conditions: list[Condition] = Field(default_factory=list)
    match: Match = "all"


_SPECS: list[tuple[str, type[BaseModel], str]] = [
    ("target_group.created", TargetGroupChanged, "A target group was created."),
    ("target_group.updated", TargetGroupChanged, "A target group's conditions or members changed."),
    ("target_group.deleted", RecordDeleted, "A target group was deleted."),
]

for _type, _payload, _description in _SPECS:
    catalogue.register(_type, _payload, producer=PRODUCER, description=_description)
