"""What the invoicing API documents for each operation (applied by `shared.operation_docs`).

Keyed by operationId, by the convention (`invoicing.items.get`, `invoicing.items.create`);
a new route left out keeps Powertools' summary and tests/unit/test_operation_docs.py names it.
"""

from shared.operation_docs import Doc, ServiceDocs, Tag

ANYONE = "Who: any user of the tenant."
PAGE = "A page of at most `limit` items (default 50, at most 200); pass `next_cursor` back as `cursor`."
ITEMS = Tag(
    "invoicing items",
    "Invoicing items: what the service keeps.",
    ("/invoicing/items",),
)

DOCS = ServiceDocs(
    tags=(ITEMS,),
    operations={
        "invoicing.items.list": Doc(
            "List items",
            f"The tenant's items in id order. {PAGE}\n\n{ANYONE}",
        ),
        "invoicing.items.create": Doc(
            "Create an item",
            f"`name` is required; `contact_id` links a contact of the tenant.\n\n{ANYONE}",
            request={"name": "First item", "description": "What it is about."},
        ),
        "invoicing.items.get": Doc("Get an item", f"One item by id.\n\n{ANYONE}"),
        "invoicing.items.delete": Doc("Delete an item", f"Removes the item.\n\n{ANYONE}"),
    },
)
