"""Events the workflows service publishes, registered once in the catalogue (docs/events.md).

An event another service consumes is a contract: its payload lives in `shared/contracts/` (the
commands a workflow's actions send: shared/contracts/workflows.py). An admin's change to a workflow
is registered here: no other service consumes it (the audit trail reads every event), and no
workflow is triggered by it (a workflow watches contacts and accounts only), so no run can change a
workflow in turn.
"""

from pydantic import BaseModel, Field

from shared.events import catalogue

PRODUCER = "workflows"


class WorkflowChanged(BaseModel):
    """A workflow as it is after an admin's change (as it was, for a deletion)."""

    id: str = Field(description="The workflow's id")
    name: str
    status: str = Field(description="active or paused")
    entity: str = Field(description="The records its trigger watches: contact or account")
    on: str = Field(description="created, updated or field_changed")
    revision: int = Field(description="The definition's revision (a change of anything but `status` makes the next)")
    actions: list[str] = Field(description="Its actions' types, in order")


for event_type, what in (
    ("workflow.created", "An admin created a workflow."),
    ("workflow.updated", "An admin changed a workflow: its definition (a new revision) or its status."),
    ("workflow.deleted", "An admin deleted a workflow (its delayed runs stop)."),
):
    catalogue.register(event_type, WorkflowChanged, producer=PRODUCER, description=what)
