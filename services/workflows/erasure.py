"""A contact's erasure: its waiting runs stop (`erased`) and drop the copy of the contact they held
for their delay. A run's other fields name ids only, so finished runs keep them.

The runs are found under the record (`by_contact`: `T#<t>#RECORD#<id>#RUN`); each stops in its own
transaction, so a crash part-way loses nothing: the event comes again and finds those still waiting.
"""

from services.workflows.runs import RUN, STORE
from services.workflows.store import Record
from services.workflows.subscriptions import subscribe
from shared import clock
from shared.contracts.directory import ContactErased
from shared.events import Envelope
from shared.store import UnitOfWork, tenant_key


@subscribe("contact.erased")
def stop_waiting_runs(envelope: Envelope, uow: UnitOfWork) -> None:
    tenant, contact_id = envelope.tenant_id, ContactErased.model_validate(envelope.data).id
    for run in Record.by_contact.query(tenant_key(tenant, "RECORD", contact_id, RUN.upper())):
        if run.data.get("status") != "waiting" or run.data.get("entity") != "contact":
            continue
        data = {k: v for k, v in run.data.items() if k != "waiting"}
        data.update(status="stopped", reason="erased", finished_at=clock.now().isoformat())
        run.set_due(tenant, None)
        step = UnitOfWork()
        STORE.replace(step, run, data)
        step.commit()
