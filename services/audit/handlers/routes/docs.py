"""What the audit API documents for each operation (applied by `shared.operation_docs`)."""

from shared.operation_docs import Doc, ServiceDocs, Tag

ADMIN = "Who: an admin of the tenant (403 for anyone else)."
PAGE = "A page of at most `limit` records (default 50, at most 200); pass `next_cursor` back as `cursor`."
TRAIL = Tag(
    "audit trail",
    "Every change in every service, one record per event: who (a user, an API key, a service or the "
    "system), when, from which IP and request (`correlation_id`), what (the entity and the fields "
    "changed, old -> new). Append-only; an erased contact's personal values are masked. Kept for the "
    "tenant's retention (`/audit/settings`).",
    ("/audit",),
)

DOCS = ServiceDocs(
    tags=(TRAIL,),
    operations={
        "audit.list": Doc(
            "Read the audit trail",
            "Newest first. One of: an entity's records (`entity_type` and `entity_id`, e.g. `contact` and its id), "
            "an actor's (`actor_id`: a user, an API key or `service:<name>`), or, with neither, a time range's "
            "(`from`, default 30 days before `to`; `to`, default now). `from`/`to` also bound the other two. "
            "A time-range page reads at most 31 days, so it may come back short with a cursor: follow it. "
            "A parameter without its pair, an entity with an actor or `from` not before `to` is a 422 naming it. "
            f"{PAGE}\n\n{ADMIN}",
        ),
        "audit.settings.get": Doc(
            "Get the audit settings",
            f"How many days audit records are kept (`retention_days`, a year until changed).\n\n{ADMIN}",
        ),
        "audit.settings.update": Doc(
            "Change the audit settings",
            "A merge patch with If-Match; `retention_days` (30-3650) applies to the records written from then "
            f"on.\n\n{ADMIN}",
            request={"retention_days": 730},
        ),
    },
)
