"""A refused command's answer (shared/contracts/workflows.py `refusal`): one per command, naming the
field the owner refused, whichever error the owner's rules raised."""

from pydantic import BaseModel, ValidationError

from shared.contracts.workflows import ActivityCreateRequested, refusal
from shared.errors import ValidationFailed
from shared.events import Actor, new_event

COMMAND = new_event(
    "activity.create_requested",
    "t1",
    ActivityCreateRequested.model_validate(
        {
            "request_id": "workflow:run-1:2",
            "activity_type": "call",
            "subject": "Call",
            "at": "2026-12-06T10:00:00Z",
            "owner_id": "u1",
            "acting": {"user_id": "u1", "role": "admin", "groups": []},
        }
    ),
    actor=Actor(type="system", id="workflows"),
)


class Limited(BaseModel):
    subject: str


def test_a_refusal_names_the_field_and_is_the_same_event_for_the_same_command() -> None:
    domain = refusal(COMMAND, "workflow:run-1:2", ValidationFailed.on("owner_id", "No user u9.", "not_found"))
    assert domain.type == "activity.create_refused" and domain.actor == Actor(type="service", id="activities")
    assert domain.data == {
        "request_id": "workflow:run-1:2",
        "command_id": COMMAND.id,
        "reason": "No user u9.",
        "field": "owner_id",
    }
    try:
        Limited.model_validate({"subject": 5})
    except ValidationError as error:
        invalid = refusal(COMMAND, "workflow:run-1:2", error)
    assert invalid.data["field"] == "subject" and invalid.id == domain.id  # one answer per command
