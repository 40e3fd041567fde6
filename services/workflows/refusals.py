"""A command a run's step published that its owner refused (`<entity>.<verb>_refused`,
shared/contracts/workflows.py): the step's outcome becomes `refused`, with the owner's reason.

The step is found from the command's `request_id` (`workflow:<run id>:<step index>`); only a step
still `requested` for that very command changes, in the consumer's unit of work with its dedupe
marker, so a redelivered refusal changes nothing twice.
"""

from services.workflows.runs import RUN, STORE
from services.workflows.subscriptions import subscribe
from shared.contracts.workflows import REFUSALS, CommandRefused
from shared.events import Envelope
from shared.observability import logger
from shared.store import UnitOfWork

PREFIX = "workflow:"


def record_refusal(envelope: Envelope, uow: UnitOfWork) -> None:
    refused = CommandRefused.model_validate(envelope.data)
    run_id, _, index = refused.request_id.removeprefix(PREFIX).rpartition(":")
    if not refused.request_id.startswith(PREFIX) or not index.isdigit():
        return  # another requester's command
    run = STORE.get(envelope.tenant_id, RUN, run_id)
    if run is None:
        logger.info("a refused command's run is gone", extra={"run_id": run_id})
        return
    steps = list(run.data.get("steps") or [])
    at = int(index)
    step = steps[at] if at < len(steps) else None
    if step is None or step.get("outcome") != "requested" or step.get("event_id") != refused.command_id:
        return
    reason = f"{refused.field}: {refused.reason}" if refused.field else refused.reason
    steps[at] = {**step, "outcome": "refused", "reason": reason[:500]}
    STORE.replace(uow, run, {**run.data, "steps": steps})


for _refused, _ in REFUSALS.values():
    subscribe(_refused)(record_refusal)
