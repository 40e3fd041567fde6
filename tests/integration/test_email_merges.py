"""A chain of contact merges in the email service, in-process against the emulator
(services/email/merges.py): A merged into B, then B into C, the events delivered in the reverse
order. A's mail ends in C's history, A's opt-out holds for C's address (not the address B had when
it absorbed A), and no copy of A or B is left."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.ids import new_id
from tests.integration.conftest import new_tenant

ADDRESSES = {"a": "a.chain@example.fi", "b": "b.chain@example.fi", "c": "c.chain@example.fi"}


def _merged(tenant: str, survivor: str, merged_id: str, record: dict[str, Any]) -> Any:
    from shared.events import Envelope

    data = {"id": survivor, "merged_ids": [merged_id], "merge_id": new_id(), "record": record}
    actor = {"type": "user", "id": "admin-1"}
    now = datetime.now(UTC)
    return Envelope.model_validate(
        {"id": new_id(), "type": "contact.merged", "tenant_id": tenant, "occurred_at": now, "actor": actor}
        | {"correlation_id": new_id(), "data": data}
    )


def test_a_chain_delivered_in_reverse_ends_on_the_last_survivor_with_the_opt_out(lambda_env: Any) -> None:
    lambda_env("EmailConsumerFunction")
    from services.email import list_types, merges
    from services.email.recipients import PROJECTION
    from services.email.service import service_caller
    from services.email.store import Record
    from services.email.transactional import contact_key, new_message_record
    from shared.store import UnitOfWork

    tenant = new_tenant()
    caller = service_caller(tenant)
    ids = {name: new_id() for name in ADDRESSES}
    for name, address in ADDRESSES.items():
        PROJECTION.contact_changed(tenant, {"id": ids[name], "email": address, "version": 1}, ids[name])
    uow = UnitOfWork()
    mail = new_message_record(caller, new_id(), {"to": ADDRESSES["a"], "contact_id": ids["a"], "status": "sent"})
    caller.store.add(uow, mail)
    uow.commit()
    assert list_types.opt_out(caller, ADDRESSES["a"], "marketing", ids["a"], "one_click")

    b_after = {"id": ids["b"], "email": "b.new@example.fi", "version": 2}  # B as it was when it absorbed A
    c_after = {"id": ids["c"], "email": ADDRESSES["c"], "version": 2}
    merges.on_contact_merged(_merged(tenant, ids["c"], ids["b"], c_after), UnitOfWork())
    merges.on_contact_merged(_merged(tenant, ids["b"], ids["a"], b_after), UnitOfWork())

    listed = [r.record_id for r in Record.by_contact.query(contact_key(tenant, ids["c"]))]
    assert listed == [mail.record_id]
    assert caller.store.get(tenant, "message", mail.record_id).data["contact_id"] == ids["c"]  # type: ignore[union-attr]
    assert list_types.is_opted_out(caller, ADDRESSES["c"], "marketing")
    assert not list_types.is_opted_out(caller, "b.new@example.fi", "marketing")
    held = caller.store.get(tenant, list_types.OPTOUT, list_types.optout_id(ADDRESSES["a"], "marketing"))
    assert held is not None and held.data["contact_id"] == ids["c"]
    rows = PROJECTION.rows_of(tenant, list(ids.values()))
    assert [rows[ids[n]].data for n in ("a", "b")] == [{"gone": "merged"}, {"gone": "merged"}]
    assert rows[ids["c"]].data["contact"]["email"] == ADDRESSES["c"]
