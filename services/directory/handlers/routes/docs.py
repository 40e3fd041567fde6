"""What the directory's API documents for each operation (applied by `shared.operation_docs`).

Keyed by operationId (the convention: `contacts.get`, `contacts.create`, `campaigns.send`); an
operation left out keeps Powertools' summary and tests/unit/test_operation_docs.py names it.
"""

from services.directory.handlers.routes.duplicate_docs import DUPLICATE_DOCS
from shared.operation_docs import Doc, ServiceDocs, Tag

ANYONE = "Who: any user of the tenant."
ADMIN = "Who: admins only (403 for managers and users)."
OWNED_READ = (
    "Who: a user sees the records they or their groups own (all of a module the tenant's settings "
    "open to everyone); managers and admins see every record. A record you may not see is a 404, never a 403."
)
OWNED_CHANGE = (
    "Who: a user changes what they or their groups own; managers and admins every record (403 when "
    "you may see the record but not change it). Changing `owner` needs an admin, a manager or the "
    "owning user, and the new owner must be within your own reach."
)
OWNED_DELETE = "Who: the owning user (not a member of an owning group), a manager or an admin (403 otherwise)."
PICKLISTS = (
    "Picklist-bound fields take an active code of the tenant's list (`GET /picklists/{name}`); an "
    "unknown or inactive code is a 422 naming the field (`unknown_code`, `inactive_code`)."
)
PAGE = "A page of at most `limit` items (default 50, at most 200); pass `next_cursor` back as `cursor`."
OWNER = "`owner` (a user or a group) defaults to the caller."
ULID = "01JD8X6Z5N9V2K4T7Q3W8E1R0A"
ACCOUNT = {"name": "Acme Oy", "status": "active", "city": "Helsinki", "country": "FI", "phone": "+358 9 123 4567"}
CONTACT = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada.lovelace@example.com",
    "account_id": ULID,
    "mobile": "+358 40 765 4321",
}

DUPLICATES = (
    "Duplicates: the answer's `possible_duplicates` lists the existing records you may read that this one "
    "may duplicate by the tenant's rules (`GET /duplicates/rules/contacts`, `/accounts`: `id`, `score`, the `matched` "
    "fields), best first; records you may not read are never compared. With `duplicates=reject` a match is "
    "a 409 problem listing them in `possible_duplicates`, and nothing is created."
)
BATCH_DUPLICATES = (
    "Duplicates: each created item's `record` lists its `possible_duplicates` as the create does, an "
    "earlier item of the batch included; an update's list is empty. With `duplicates=reject` an item "
    "that has any is refused alone: its result is a 409 `problem` listing them in `possible_duplicates`."
)

BATCH = (
    "Up to 100 items: an item without `id` is a create (the body of the create), one with `id` an update "
    "(`id` and the body of the PATCH). Each item is validated, checked and written on its own, so a refused "
    "item does not stop the others: the answer is 200 with one result per item in order (`index`, `status`, "
    "`id`, `record` or `problem`). Send an `Idempotency-Key` to retry a batch safely."
)
SORT_ONLY = (
    "At most one filter, with `sort` (`id` or `name`) and `order` (`asc` or `desc`) on what its index serves; "
    "a second filter or another sort is a 400 naming the parameter (`unsupported_combination`)."
)
SORT = (
    "At most one filter, with `sort` (`id` or `name`) and `order` (`asc` or `desc`) on what its index serves; "
    "a second filter or another sort is a 400 naming the parameter (`unsupported_combination`). "
    "`ids=a,b,c` reads up to 100 records in the order asked (absent or hidden ones left out)."
)

GET_RULES = Doc(
    "Get the duplicate-matching rules",
    "The tenant's rules for `contacts` or `accounts` (a new tenant's are the defaults shown): the "
    "`fields` compared, each `exact` (equal once normalised: email lower-cased, phone numbers as E.164 "
    "read with `default_country`, business ids by their check digit) or `fuzzy` (`jaro_winkler` or "
    "`token_set` similarity, matched from `min_similarity`) with a `weight`; a pair is a possible "
    "duplicate when its weighted score reaches `threshold` with at least `min_matched_fields` fields "
    "matched. `match_empty_fields`: a field empty in both counts as a match. Creating a record "
    f"checks it against these rules.\n\n{ANYONE}",
)
REPLACE_RULES = Doc(
    "Replace the duplicate-matching rules",
    "PUT: the whole rules of the entity; a left-out setting takes its default. A field the entity "
    "cannot compare, a method the field does not take (`phones` is exact only), a field twice or a "
    "`min_matched_fields` above the number of fields is a 422 naming it (`fields.0.field`). Send the GET's "
    "`ETag` as `If-Match` (412 when the rules changed meanwhile). A new `default_country` keys the phone "
    "numbers of records written from then on and starts a re-key of the existing records' numbers "
    "without a country code in the background (`rekey`: its `state`, `records_read`, `records_rekeyed`; "
    "until it is `completed` a create's check may miss such a record by its number).\n\n"
    f"{ADMIN}",
    request={
        "fields": [
            {
                "field": "name",
                "method": "fuzzy",
                "similarity": "jaro_winkler",
                "min_similarity": 0.9,
                "weight": 4,
            },
            {"field": "email", "method": "exact", "weight": 3},
        ],
        "threshold": 0.8,
        "min_matched_fields": 2,
        "match_empty_fields": False,
        "default_country": "FI",
    },
)
REPLACE_EXAMPLE: dict[str, object] = dict(REPLACE_RULES.request or {})


def _rules_docs(entity: str, example_name: dict[str, object]) -> dict[str, Doc]:
    """The rules routes of one entity (`/duplicates/rules/contacts`, `/accounts`)."""
    return {
        f"duplicates.rules.{entity}.get": GET_RULES,
        f"duplicates.rules.{entity}.replace": Doc(
            REPLACE_RULES.summary,
            REPLACE_RULES.description,
            request={**REPLACE_EXAMPLE, "fields": [example_name, {"field": "email", "method": "exact", "weight": 3}]},
        ),
    }


DUPLICATE_RULES_DOCS = {
    **_rules_docs("contacts", {"field": "name", "method": "fuzzy", "similarity": "jaro_winkler", "weight": 4}),
    **_rules_docs("accounts", {"field": "name", "method": "fuzzy", "similarity": "token_set", "weight": 3}),
}

DOCS = ServiceDocs(
    tags=(
        Tag("accounts", "Customers (organisations): numbered, owned, with a status picklist.", ("/accounts",)),
        Tag("contacts", "People, optionally of an account; their GDPR export and erasure.", ("/contacts",)),
        Tag("users", "The tenant's users: role, groups and the directory id the token names.", ("/users",)),
        Tag("groups", "User groups: owners of records and the reach of managers.", ("/groups",)),
        Tag("picklists", "The tenant-editable lists that picklist-bound fields take codes from.", ("/picklists",)),
        Tag("settings", "Tenant settings of the directory: numbering and the modules open to all.", ("/settings",)),
        Tag(
            "classes",
            "Classes of accounts and contacts and the classification types they belong to.",
            ("/classes", "/classification-types"),
        ),
        Tag(
            "target groups",
            "Audiences chosen by conditions and by hand, for mass activities, campaigns and automations.",
            ("/target-groups",),
        ),
        Tag("imports", "CSV imports of accounts and contacts with a per-row report.", ("/imports",)),
        Tag("search", "Quick find across the tenant's accounts and contacts.", ("/search",)),
        Tag("me", "The caller: their own user record, role and groups.", ("/me",)),
    ),
    operations={
        "accounts.list": Doc(
            "List accounts",
            "The accounts the caller may see, in id (creation) order; filters: `name` (the start), `status`, "
            f"`number`, `owner_id`, `class_id`. {SORT} {PAGE}\n\n{OWNED_READ}",
        ),
        "accounts.batch": Doc(
            "Create or update up to 100 accounts",
            f"{BATCH} {PICKLISTS} {BATCH_DUPLICATES}\n\n{ANYONE} "
            f"An update needs what `PATCH /accounts/{{account_id}}` needs.",
            request={"items": [ACCOUNT, {"id": ULID, "status": "passive"}]},
        ),
        "accounts.create": Doc(
            "Create an account",
            "Creates a customer with the next number of the tenant's account numbering (`number`, e.g. "
            f"`ACC-1001`). Only `name` is required. `status` is bound to the `account_status` picklist; "
            f"the status `ceased` hides the account from the call list unless asked for. {PICKLISTS} "
            f"{OWNER} Publishes `account.created`. {DUPLICATES}\n\n{ANYONE}",
            request=ACCOUNT,
        ),
        "accounts.get": Doc("Get an account", f"One account by id.\n\n{OWNED_READ}"),
        "accounts.update": Doc(
            "Update an account",
            "PATCH: only the fields sent change; `null` clears an optional field. "
            f"{PICKLISTS} Publishes `account.updated`.\n\n{OWNED_CHANGE}",
            request={"status": "passive", "phone": "+358 9 765 4321"},
        ),
        "accounts.delete": Doc(
            "Delete an account",
            "An account that still has contacts is refused (409): move or delete them first. "
            f"Publishes `account.deleted`.\n\n{OWNED_DELETE}",
        ),
        "contacts.list": Doc(
            "List contacts",
            "The contacts the caller may see, in id order; filters: `account_id`, `email` (case-insensitive), "
            '`phone` (its digits, phone or mobile), `name` (the start of "last_name first_name"), `owner_id`, '
            f"`class_id`. {SORT} {PAGE}\n\n{OWNED_READ}",
        ),
        "contacts.batch": Doc(
            "Create or update up to 100 contacts",
            f"{BATCH} {PICKLISTS} {BATCH_DUPLICATES}\n\n{ANYONE} "
            f"An update needs what `PATCH /contacts/{{contact_id}}` needs.",
            request={"items": [CONTACT, {"id": ULID, "job_title": "ceo"}]},
        ),
        "search.list": Doc(
            "Find accounts and contacts",
            "`q` (at least 2 characters) matches the start of a name word, the number, the email or the phone's "
            "digits; several words must all match one record. Hits are ranked: names and numbers before emails "
            "and phones, an exact word before a longer one. Each hit (`kind`, `id`, `number`, `name`, `email`, "
            f"`phone`) is a record the caller may see; the record itself comes from its own GET. {PAGE}\n\n"
            f"{OWNED_READ}",
        ),
        "me.get": Doc(
            "Get the caller",
            "The caller's own user record (`id`, `email`, `name`, `role`, `groups`), their `tenant_id`, and the "
            "role and groups this request acts with (`token_role`, `token_groups`: the token's, which follow a "
            "change of the user at the next sign-in). 404 when the token's user is not in the directory.\n\n"
            f"{ANYONE}",
        ),
        "contacts.create": Doc(
            "Create a contact",
            "A contact needs a name: `first_name` or `last_name` (or both). `account_id` must name an "
            f"account of the tenant. Marketing fields (`job_title`, `category`, `region`, `groups`, "
            f"`benefit_status`, `sales_status`) are picklist-bound. {PICKLISTS} {OWNER} Publishes "
            f"`contact.created`. {DUPLICATES}\n\n{ANYONE}",
            request=CONTACT,
        ),
        "contacts.get": Doc("Get a contact", f"One contact by id.\n\n{OWNED_READ}"),
        "contacts.update": Doc(
            "Update a contact",
            "PATCH: only the fields sent change; `null` clears an optional field. The contact keeps a "
            f"name (422 `name_required` otherwise). {PICKLISTS} Publishes `contact.updated`.\n\n{OWNED_CHANGE}",
            request={"job_title": "ceo", "consent_date": "2026-03-02"},
        ),
        "contacts.delete": Doc(
            "Delete a contact", f"Removes the contact. Publishes `contact.deleted`.\n\n{OWNED_DELETE}"
        ),
        "contacts.export": Doc(
            "Export a contact's data (GDPR)",
            f"Everything the directory holds on the person, as one JSON document.\n\n{OWNED_READ}",
        ),
        "contacts.erase": Doc(
            "Erase a contact (GDPR)",
            "Blanks the person's data for good and marks the contact `erased`; the other services "
            "remove the person on `contact.erased` (activities, contact orders, mail). Not undoable.\n\n"
            f"{ADMIN}",
        ),
        "users.list": Doc("List users", f"The tenant's users in id order. {PAGE}\n\n{ANYONE}"),
        "users.create": Doc(
            "Create a user",
            "A directory user (`email`, `name`, `role`: `admin`, `manager` or `user`, `groups`). The "
            "user's id is the `user_id` claim of their tokens. Publishes `user.created`.\n\n" + ADMIN,
            request={"email": "grace@example.com", "name": "Grace Hopper", "role": "manager", "groups": []},
        ),
        "users.get": Doc("Get a user", f"One user by id.\n\n{ANYONE}"),
        "users.update": Doc(
            "Update a user",
            "PATCH: role, name, groups; joining and leaving at most 32 groups in one change (422 "
            "`too_many`). A role or group change takes effect at the user's next token.\n\n" + ADMIN,
            request={"role": "user"},
        ),
        "groups.list": Doc("List groups", f"The tenant's user groups. {PAGE}\n\n{ANYONE}"),
        "groups.create": Doc(
            "Create a group",
            "A group of users: it can own records, and a manager reaches the records of their groups' "
            f"members.\n\n{ADMIN}",
            request={"name": "Sales team"},
        ),
        "groups.get": Doc("Get a group", f"One group by id.\n\n{ANYONE}"),
        "picklists.get": Doc(
            "Get a picklist",
            "The tenant's list `name` (`account_status`, `job_title`, `contact_category`, `region`, "
            "`contact_group`, `benefit_status`, `sales_status`) in display order; only active codes "
            f"are accepted in records.\n\n{ANYONE}",
        ),
        "picklists.replace": Doc(
            "Replace a picklist",
            "PUT: the whole new list in display order; codes are unique (422 `duplicate`). Deactivate a "
            "code (`active: false`) rather than removing it: records keep codes that are no longer in "
            f"the list.\n\n{ADMIN}",
            request={"items": [{"code": "north", "label": "North"}, {"code": "south", "label": "South"}]},
        ),
        "settings.get": Doc(
            "Get the directory settings",
            f"Numbering prefixes and first numbers, and the modules open to every user.\n\n{ANYONE}",
        ),
        "settings.replace": Doc(
            "Replace the directory settings",
            "PUT: the whole settings; a left-out field takes its default. Opening a module makes its "
            f"records readable by everyone (publishes `tenant.access_changed`).\n\n{ADMIN}",
        ),
        "classes.list": Doc("List classes", f"The tenant's classes. {PAGE}\n\n{ANYONE}"),
        "classes.create": Doc(
            "Create a class",
            'A class (e.g. "Spring sales campaign") that accounts and contacts belong to, optionally '
            f"of a classification type.\n\n{ADMIN}",
            request={"name": "Spring sales campaign", "classification_type_id": ULID},
        ),
        "classes.get": Doc("Get a class", f"One class by id.\n\n{ANYONE}"),
        "classificationTypes.list": Doc(
            "List classification types", f"The tenant's classification types. {PAGE}\n\n{ANYONE}"
        ),
        "classificationTypes.create": Doc(
            "Create a classification type",
            f"A type classes belong to (e.g. a mailing list).\n\n{ADMIN}",
            request={"name": "Mailing lists"},
        ),
        "classificationTypes.get": Doc("Get a classification type", f"One classification type by id.\n\n{ANYONE}"),
        "targetGroups.list": Doc(
            "List target groups",
            "The target groups the caller may see (their own, their groups', and public ones), in id (creation) "
            f"order; filters: `name` (the start), `owner_id`. {SORT_ONLY} {PAGE}\n\n{OWNED_READ}",
        ),
        "targetGroups.create": Doc(
            "Create a target group",
            "Members are chosen by `conditions` over account and contact fields (`match`: all or any; "
            "re-evaluated on every use) and/or added by hand (`contact_ids`). Date conditions are read in "
            f"the tenant's time zone. A public group is readable by everyone. {OWNER} Publishes "
            f"`target_group.created`.\n\n{ANYONE}",
            request={
                "name": "Helsinki customers",
                "match": "all",
                "conditions": [{"field": "account.city", "op": "equals", "value": "Helsinki"}],
                "public": False,
            },
        ),
        "targetGroups.get": Doc("Get a target group", f"One target group by id.\n\n{OWNED_READ}"),
        "targetGroups.update": Doc(
            "Update a target group",
            "PATCH of the group itself (name, conditions, public, owner); hand-added members change "
            f"through `POST /target-groups/{{group_id}}/members`. Publishes `target_group.updated`.\n\n"
            f"{OWNED_CHANGE}",
            request={"public": True},
        ),
        "targetGroups.delete": Doc("Delete a target group", f"Publishes `target_group.deleted`.\n\n{OWNED_DELETE}"),
        "targetGroups.members.change": Doc(
            "Add and remove hand-picked members",
            "Adds the contacts of `add` and removes those of `remove`; no contact in both (422 "
            f"`added_and_removed`). The contacts must be ones you may see.\n\n{OWNED_CHANGE}",
            request={"add": [ULID], "remove": []},
        ),
        "targetGroups.preview": Doc(
            "Preview a target group's members",
            "The contacts the group holds now (conditions evaluated at this moment, plus the hand-picked), "
            f"as the caller may see them.\n\n{OWNED_READ}",
        ),
        "imports.create": Doc(
            "Start a CSV import",
            "Creates an import of `kind` `accounts` or `contacts` with a `mapping` from CSV headers to "
            "fields (no field twice, 422 `duplicate_field`) and answers an upload URL: PUT the CSV file "
            "there; the import then runs and `GET /imports/{import_id}` shows its progress. Rows are "
            "checked as the create operations check them (picklists included); each refused row is "
            "reported. A row whose natural key (a contact's email, an account's business id) names a record you may "
            "see updates it. Any other row is checked against the tenant's duplicate rules: `on_duplicate` "
            "`create` (default) creates it anyway, `update` updates its best match instead, `skip` leaves it "
            "out (outcome `skipped`); its row report lists the matches (`possible_duplicates`). The import and "
            f"its records are owned by the importing user.\n\n{ANYONE}",
            request={"kind": "contacts", "mapping": {"First name": "first_name", "E-mail": "email"}},
        ),
        **DUPLICATE_RULES_DOCS,
        "imports.get": Doc("Get an import", f"The import's status and counts.\n\n{OWNED_READ}"),
        "imports.rows.list": Doc(
            "List an import's row reports",
            "Per row, in row order: created, updated, rejected or skipped, with the field errors of a rejected row; "
            f"`outcome` lists the rows of one outcome (`outcome=rejected`: what to fix). {PAGE}\n\n{OWNED_READ}",
        ),
    },
    operation_ids={
        "GET /contacts/{contact_id}/export": "contacts.export",
        "POST /target-groups/{group_id}/members": "targetGroups.members.change",
        "GET /target-groups/{group_id}/preview": "targetGroups.preview",
    },
)

# The duplicates' routes document themselves in their own module (issue 24).
DOCS = ServiceDocs(
    DOCS.tags + DUPLICATE_DOCS.tags,
    {**DOCS.operations, **DUPLICATE_DOCS.operations},
    {**DOCS.operation_ids, **DUPLICATE_DOCS.operation_ids},
)
