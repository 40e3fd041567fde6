"""What the workflows API documents for each operation (applied by `shared.operation_docs`).

Keyed by operationId, by the convention (`workflows.get`, `workflows.runs.list`);
a new route left out keeps Powertools' summary and tests/unit/test_operation_docs.py names it.
"""

from shared.operation_docs import Doc, ServiceDocs, Tag

ADMIN = "Who: admins only (403 for managers and users)."
PAGE = "A page of at most `limit` items (default 50, at most 200); pass `next_cursor` back as `cursor`."
RULES = (
    "A trigger names an entity (`contact` or `account`) and `created`, `updated` or `field_changed` (with "
    "`field`; optionally `from` and/or `to`: the value it changed from, read from the event's `changes`, and "
    "the value it changed to; `field`, `from` and `to` only there). `conditions` use the target groups' "
    "language (the same "
    "fields and operators, not `in_classification_type`): a contact workflow's the contact's own fields, an "
    "account workflow's `account.<field>`; empty enrolls every record the trigger names. A delay is "
    "`delay_minutes` or `delay_until` (a date field of the entity plus `offset_minutes`), not both (422 "
    "`one_delay`). Actions run in order, each a request to the service that owns what it changes, applied "
    "with that service's rules: `send_email` (a template, to the record's email), `send_sms` (contacts "
    "only), `set_field` (a field the entity lets a workflow set, 422 `not_settable` otherwise; a value of "
    "its kind, `value_of_field`; `account.name` and `account.status` cannot be cleared, `required`; the "
    "directory checks picklists when it applies it, as the workflow's creator), `create_task` (a task, or "
    "an event for a type of kind event, for the record's owner: a group's record's for the workflow's "
    "creator) and `call_webhook` (one signed `webhook.workflow_call` message to that endpoint of the "
    "tenant). A field that does not fit the entity is a 422 naming it. At most 50 active workflows a "
    "tenant (409)."
)
EXAMPLE = {
    "name": "Welcome new customers",
    "status": "active",
    "trigger": {"entity": "contact", "on": "field_changed", "field": "sales_status", "to": "customer"},
    "conditions": [{"field": "email", "op": "is_empty"}],
    "match": "any",
    "actions": [
        {"type": "send_email", "template_id": "01JWELCOME0TEMPLATE000000"},
        {"type": "set_field", "field": "benefit_status", "value": "member"},
        {"type": "create_task", "subject": "Call to welcome them", "due_in_minutes": 1440},
        {"type": "call_webhook", "endpoint_id": "01JWEBHOOK0ENDPOINT000000"},
    ],
}

DOCS = ServiceDocs(
    tags=(
        Tag(
            "workflows",
            "Automations: when a record is created or changed and meets the conditions, the actions run for it "
            "(an email, an SMS, a field set, a task, a webhook call). Each change of a definition is a new "
            "revision; runs keep theirs.",
            ("/workflows",),
        ),
    ),
    operations={
        "workflows.list": Doc("List workflows", f"The tenant's workflows in id order. {PAGE}\n\n{ADMIN}"),
        "workflows.create": Doc(
            "Create a workflow",
            f"{RULES} A new workflow is `paused` unless `status` says `active`.\n\n{ADMIN}",
            request=EXAMPLE,
        ),
        "workflows.get": Doc("Get a workflow", f"One workflow by id, with its `revision`.\n\n{ADMIN}"),
        "workflows.update": Doc(
            "Change, pause or resume a workflow",
            "A merge patch, with If-Match. A change of anything but `status` makes the next `revision`; runs "
            f"already started keep the revision they started with. {RULES}\n\n{ADMIN}",
            request={"status": "paused"},
        ),
        "workflows.delete": Doc(
            "Delete a workflow", f"It starts no more runs; its runs stay until they expire (90 days).\n\n{ADMIN}"
        ),
        "workflows.runs.list": Doc(
            "List a workflow's runs",
            "Newest first: each run's record, the event that started it, the revision it followed, each step's "
            "outcome, and why a run stopped (`loop`: the workflow's own action on this record caused the event; "
            "`chain_too_deep`: five workflow actions caused it; `no_date`, `date_passed`: its `delay_until` "
            "had no time, or one already past; while waiting `paused`, `deleted`, `erased`). `record_id` keeps "
            "one record's runs (page-wise: "
            f"a page may be shorter than `limit`, with a cursor). {PAGE}\n\n{ADMIN}",
        ),
        "workflows.runs.get": Doc("Get a run", f"One run of the workflow by id.\n\n{ADMIN}"),
    },
)
