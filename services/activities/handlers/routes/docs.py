"""What the activities API documents for each operation (applied by `shared.operation_docs`).

Keyed by operationId (the convention: `activities.get`, `activities.create`, `activities.complete`);
an operation left out keeps Powertools' summary and tests/unit/test_operation_docs.py names it.
"""

from shared.operation_docs import Doc, ServiceDocs, Tag

ANYONE = "Who: any user of the tenant."
ADMIN = "Who: admins only (403 for managers and users)."
MANAGER = "Who: managers and admins (403 for users)."
CHANGER = "Who: the responsible user (`owner_id`), the creator, a manager or an admin (403 otherwise)."
SELF_OR_MANAGER = "Who: a user for themselves; managers and admins for anyone (403 otherwise)."
PAGE = "A page of at most `limit` items (default 50, at most 200); pass `next_cursor` back as `cursor`."
ZONED = "Times are ISO 8601 with an offset or `Z` (a time without a zone is a 422)."
TENANT_DAYS = "Days, weeks and months are the tenant's local ones (`GET /activity-settings`, `time_zone`)."
ORDER_PERMISSION = (
    "Who: by the tenant's contact-order permissions per role (`GET /contact-orders/settings`: `view`, "
    "`view_assigned`, `edit`, `create`, `delete`, `assign`, `assign_self`, `delete_files`); this one needs `{0}` "
    "(403 naming it otherwise)."
)
UPLOAD = (
    "Answers a pre-signed upload URL (`upload`: PUT the file there, with the headers given, before it "
    "expires), then confirm with the `complete` operation; a file not yet uploaded is a 409."
)
ULID = "01JD8X6Z5N9V2K4T7Q3W8E1R0A"
EVENT = {
    "type": "meeting",
    "subject": "Offer meeting",
    "start": "2026-03-02T10:00:00+02:00",
    "end": "2026-03-02T11:00:00+02:00",
    "contact_id": ULID,
    "category": "customer_visit",
}


def order(permission: str) -> str:
    return ORDER_PERMISSION.format(permission)


DOCS = ServiceDocs(
    tags=(
        Tag(
            "activities",
            "Events (with a start and an end) and tasks (with a due time), their memos and files.",
            ("/activities",),
        ),
        Tag("activity settings", "The tenant's activity settings: its time zone.", ("/activity-settings",)),
        Tag("activity types", "The tenant's activity types: each is of kind event or task.", ("/activity-types",)),
        Tag("crm settings", "CRM event classification: categories, kinds, types and properties.", ("/crm",)),
        Tag(
            "calendar",
            "A user's calendar, to-do list and secret iCalendar feed.",
            ("/calendar", "/calendar-feeds", "/todo"),
        ),
        Tag("call list", "Accounts or contacts to call, each with its latest event; logging a call.", ("/call-list",)),
        Tag(
            "contact orders",
            "Customer contact requests: notes, bookings, files, time, assignment, conversion.",
            ("/contact-orders",),
        ),
        Tag(
            "goals",
            "Activity points, weekly goals per user and the report beside the actuals.",
            ("/goals", "/point-rules"),
        ),
        Tag(
            "sales targets",
            "Count targets per seller and CRM category, and the seller's view.",
            ("/sales-targets", "/seller-view"),
        ),
        Tag(
            "marketing activities",
            "Customer contacts of a person (calls, visits, letters, mail) and their statistics.",
            ("/marketing-activities",),
        ),
        Tag(
            "mass activities",
            "Activities for every member of a target group, now, at a time or recurring.",
            ("/mass-activities",),
        ),
    ),
    operations={
        "activities.list": Doc(
            "List activities",
            "Filters: `contact_id`, `account_id`, `owner_id`, `type`, a time range `from` (inclusive) and `to` "
            "(exclusive); `sort=time` (newest first by default) or `sort=id` (without filters), `order=asc|desc`. "
            "`type` with `owner_id`, or `sort=id` with a filter, is a 400 naming the parameter. `ids=a,b,c` reads "
            f"up to 100 activities at once (absent ids are left out) and takes no other parameter. {PAGE}\n\n{ANYONE}",
        ),
        "activities.batch": Doc(
            "Create or update up to 100 activities",
            "An item without `id` is a create (the body of `POST /activities`), one with `id` an update (`id` "
            "and the body of `PATCH /activities/{activity_id}`). Each item is validated, checked and written on "
            "its own, so a refused item does not stop the others: the answer is 200 with one result per item in "
            "order (`index`, `status`, `id`, `record` or `problem`). Send an `Idempotency-Key` to retry a batch "
            f"safely.\n\n{ANYONE}",
            request={"items": [EVENT, {"id": ULID, "subject": "Moved"}]},
        ),
        "activities.create": Doc(
            "Create an activity",
            "`type` is an active activity type of the tenant (`GET /activity-types`); its kind decides the "
            "times: an event needs `start` and `end` (not before `start`), a task `due` and neither of the "
            "others (422 otherwise). A `category` (`GET /crm/settings`) sets `crm_kind` and `crm_type`; "
            f"they may differ only if the category allows choice. {ZONED} `owner_id` (the responsible "
            "user) defaults to the caller; naming another user needs a manager or an admin. Publishes "
            f"`activity.created`.\n\n{ANYONE}",
            request=EVENT,
        ),
        "activities.get": Doc("Get an activity", f"One activity with its memos and attachments.\n\n{ANYONE}"),
        "activities.update": Doc(
            "Update an activity",
            "PATCH: only the fields sent change; `null` clears an optional field. The kind's time rules "
            f"hold after the change. {ZONED} Publishes `activity.updated`.\n\n{CHANGER}",
            request={
                "subject": "Offer meeting (moved)",
                "start": "2026-03-03T10:00:00+02:00",
                "end": "2026-03-03T11:00:00+02:00",
            },
        ),
        "activities.delete": Doc(
            "Delete an activity",
            f"An event leaves the owner's calendar feed as cancelled. Publishes `activity.deleted`.\n\n{CHANGER}",
        ),
        "activities.complete": Doc(
            "Complete an activity",
            "Sets `status` to `done`; the activity then counts for points, goals and sales targets in the "
            f"tenant's week or month of its completion.\n\n{CHANGER}",
        ),
        "activities.reopen": Doc("Reopen an activity", f"Sets a done activity back to `open`.\n\n{CHANGER}"),
        "activities.memos.create": Doc(
            "Add a memo",
            "Appends a memo, stamped with its author and time. An activity's memos hold at most 128 KB of "
            f"text together (UTF-8): one more is a 409 (start another activity).\n\n{ANYONE}",
            request={"text": "She wants the offer by Friday."},
        ),
        "activities.attachments.create": Doc(
            "Start an attachment upload",
            f"A document of at most 25 MB attached to the activity. {UPLOAD}\n\n{ANYONE}",
            request={"name": "offer.pdf", "content_type": "application/pdf", "size": 48213},
        ),
        "activities.attachments.complete": Doc(
            "Confirm an uploaded attachment", f"Marks the uploaded file as attached (409 if not uploaded).\n\n{CHANGER}"
        ),
        "activities.attachments.get": Doc(
            "Download an attachment", f"A short-lived download URL of the file (409 if not uploaded yet).\n\n{ANYONE}"
        ),
        "activities.attachments.delete": Doc("Delete an attachment", f"Removes the file.\n\n{CHANGER}"),
        "activitySettings.get": Doc("Get the activity settings", f"The tenant's time zone.\n\n{ANYONE}"),
        "activitySettings.replace": Doc(
            "Replace the activity settings",
            "PUT: a left-out field takes its default (`time_zone` UTC). The zone decides the tenant's "
            f"days, weeks and months in reports, goals and statistics.\n\n{ADMIN}",
            request={"time_zone": "Europe/Helsinki"},
        ),
        "activityTypes.get": Doc(
            "List the activity types", f"The tenant's activity types, each an event or a task.\n\n{ANYONE}"
        ),
        "activityTypes.replace": Doc(
            "Replace the activity types",
            "PUT: the whole list; each code at most once. Deactivate a type rather than removing it: "
            f"activities keep their type.\n\n{ADMIN}",
            request={
                "items": [
                    {"code": "call", "label": "Call", "kind": "event"},
                    {"code": "task", "label": "Task", "kind": "task"},
                ]
            },
        ),
        "crm.settings.get": Doc(
            "Get the CRM classification",
            "Categories (each setting a kind and a type, and whether users may change them), kinds, types and "
            f"properties.\n\n{ANYONE}",
        ),
        "crm.categories.replace": Doc(
            "Replace the CRM categories",
            "PUT: the whole list; each code at most once; a category's `kind` and `type` must be codes of "
            "those lists. `sales_target: true` lets managers set count targets for it.\n\n" + ADMIN,
            request={
                "items": [
                    {
                        "code": "customer_visit",
                        "label": "Customer visit",
                        "kind": "events",
                        "type": "customer_visits",
                        "sales_target": True,
                    }
                ]
            },
        ),
        "crm.lists.replace": Doc(
            "Replace a CRM code list",
            f"PUT the whole list `list_name` (`kinds`, `types` or `properties`); each code at most once.\n\n{ADMIN}",
            request={"items": [{"code": "events", "label": "Events"}, {"code": "sales", "label": "Sales"}]},
        ),
        "calendar.list": Doc(
            "Get a calendar",
            "The events and contact-order bookings starting in [`from`, `to`), by start time; "
            f"`user_id` names whose (the caller's when left out). {ZONED}\n\n{SELF_OR_MANAGER}",
        ),
        "todo.list": Doc(
            "Get a to-do list",
            "Open tasks, due bookings and assigned contact orders, by due time; `user_id` names whose "
            f"(the caller's when left out). {PAGE}\n\n{SELF_OR_MANAGER}",
        ),
        "calendarFeeds.create": Doc(
            "Create a calendar feed URL",
            "A new secret iCalendar URL of the caller's calendar, for Google Calendar or Outlook; the "
            f"previous URL stops working.\n\n{ANYONE} (their own calendar)",
        ),
        "calendarFeeds.get": Doc(
            "Get the calendar feed URL", f"The caller's live feed URL (404 when none was made).\n\n{ANYONE}"
        ),
        "calendarFeeds.delete": Doc("Revoke the calendar feed", f"The feed URL answers 404 from now on.\n\n{ANYONE}"),
        "calendar.feed": Doc(
            "Read a calendar feed (iCalendar)",
            "Public, no token: the `text/calendar` feed behind a secret URL made by `POST /calendar-feeds`. "
            "Deleted or moved events stay in the feed as cancelled for a while, so subscribed clients remove them.",
        ),
        "callList.list": Doc(
            "Search the call list",
            "`mode`: `accounts`, `contacts`, or `account_contacts` (the contacts of the accounts found). "
            "Without `statuses` every account but the ceased ones; ceased only when asked for. Passive "
            "contacts never appear. Filters: account manager, class, classification type, target group. "
            f"Each row shows its latest event; `sort` by its time or type. {PAGE}\n\n{ANYONE}",
        ),
        "callList.calls.create": Doc(
            "Log a call",
            "An event linked to the row: mode `accounts` names `account_id` (no `contact_id`), the other "
            f"modes `contact_id` (no `account_id`). `type` is an event type (`call` by default). {ZONED}\n\n{ANYONE}",
            request={
                "mode": "contacts",
                "contact_id": ULID,
                "subject": "Called about the offer",
                "start": "2026-03-02T14:00:00+02:00",
            },
        ),
        "contactOrders.list": Doc(
            "List contact orders",
            "Open orders first, by planned date (or running number, by the tenant's setting); closed ones "
            f"last. Filters as a saved favourite holds them. {PAGE}\n\n{order('view')} (`view_assigned`: "
            "only the orders assigned to you).",
        ),
        "contactOrders.create": Doc(
            "Create a contact order",
            "`subject` and a customer are required: `account_id`, or `new_customer` (added to the register, "
            "with its contact person), not both. A facility by `facility_id` or `facility_name` (created "
            "if new), not both; one contact person: `contact_id` or `new_customer.contact`, not both. "
            "`status` comes from the tenant's list (its first active one when left out). Assignees are "
            f"notified. Publishes `contact_order.created`.\n\n{order('create')}",
            request={
                "subject": "Boiler service",
                "account_id": ULID,
                "contact_id": ULID,
                "facility_name": "Main office",
                "planned_date": "2026-03-09",
            },
        ),
        "contactOrders.get": Doc("Get a contact order", f"One order with its time entries.\n\n{order('view')}"),
        "contactOrders.update": Doc(
            "Update a contact order",
            "PATCH: only the fields sent change; `null` clears an optional field. A closed order is "
            f"refused (409). Changing `assignee_ids` needs `assign` (or `assign_self` for oneself only).\n\n"
            f"{order('edit')}",
            request={"status": "in_progress", "hours_spent": 1.5},
        ),
        "contactOrders.delete": Doc(
            "Delete a contact order", f"Publishes `contact_order.deleted`.\n\n{order('delete')}"
        ),
        "contactOrders.assignees.replace": Doc(
            "Replace an order's assignees",
            f"The users the order is assigned to; the new ones are notified.\n\n{order('assign')} (`assign_self`: "
            "only yourself).",
            request={"assignee_ids": [ULID]},
        ),
        "contactOrders.close": Doc(
            "Close a contact order",
            f"Archives the order: it stays listed, always last. Publishes `contact_order.closed`.\n\n{order('edit')}",
        ),
        "contactOrders.convert": Doc(
            "Convert to a sales order",
            "Makes a sales order of the contact order, once (409 when converted already or closed). "
            f"Publishes `contact_order.converted`.\n\n{order('edit')}",
        ),
        "contactOrders.timeEntries.create": Doc(
            "Log time on a contact order",
            "Adds `hours` to the order's `hours_spent` (the total stays at most 100000: 422 `total_too_large`); "
            f"`date` is the day worked, today in the tenant's zone when left out.\n\n{order('edit')}",
            request={"hours": 1.5, "date": "2026-03-02"},
        ),
        "contactOrders.notes.list": Doc(
            "List an order's notes",
            "Oldest first, each note as its first 200 characters (`excerpt`) and its `length`: "
            f"`GET /contact-orders/{{order_id}}/notes/{{note_id}}` reads one whole. {PAGE}\n\n{order('view')}",
        ),
        "contactOrders.notes.get": Doc("Get a note", f"One note of the order, whole.\n\n{order('view')}"),
        "contactOrders.notes.create": Doc(
            "Add a note",
            f"A note stamped with its time and author.\n\n{order('edit')}",
            request={"text": "Customer called: the boiler leaks again."},
        ),
        "contactOrders.bookings.list": Doc(
            "List an order's bookings", f"Every booking of the order.\n\n{order('view')}"
        ),
        "contactOrders.bookings.create": Doc(
            "Book the next contact",
            "A booking (`channel`: digital, meeting or phone) in `user_id`'s calendar and to-do list (the "
            "caller's when left out; booking a colleague needs `assign`), with a reminder when due. "
            f"{ZONED}\n\n{order('edit')}",
            request={"channel": "phone", "start": "2026-03-04T09:00:00+02:00", "note": "Call back about the quote"},
        ),
        "contactOrders.bookings.get": Doc("Get a booking", f"One booking of an order.\n\n{order('view')}"),
        "contactOrders.bookings.update": Doc(
            "Update a booking",
            "PATCH: time, channel, user, note or status (a cancelled booking stays as cancelled). "
            f"{ZONED}\n\n{order('edit')}",
            request={"start": "2026-03-05T09:00:00+02:00"},
        ),
        "contactOrders.files.create": Doc(
            "Start a file upload",
            f"A document of at most 25 MB on the order. {UPLOAD}\n\n{order('edit')}",
            request={"name": "quote.pdf", "content_type": "application/pdf", "size": 48213},
        ),
        "contactOrders.files.complete": Doc("Confirm an uploaded file", f"409 if not uploaded yet.\n\n{order('edit')}"),
        "contactOrders.files.get": Doc(
            "Download a file", f"A short-lived download URL (409 if not uploaded yet).\n\n{order('view')}"
        ),
        "contactOrders.files.delete": Doc("Delete a file", f"Removes the file.\n\n{order('delete_files')}"),
        "contactOrders.facilities.list": Doc("List facilities", f"The tenant's facilities. {PAGE}\n\n{order('view')}"),
        "contactOrders.facilities.create": Doc(
            "Create a facility",
            f"A facility by name; a name already used is a 409 naming the existing one.\n\n{order('create')} (or "
            "`edit`)",
            request={"name": "Main office"},
        ),
        "contactOrders.favourites.get": Doc(
            "List your saved filters", f"The caller's saved list filters.\n\n{order('view')}"
        ),
        "contactOrders.favourites.create": Doc(
            "Save a list filter",
            "A named filter of the contact-order list, for the caller only; a user keeps a limited number (409 "
            f"beyond).\n\n{order('view')}",
        ),
        "contactOrders.favourites.delete": Doc("Delete a saved filter", "Who: the user who saved it."),
        "contactOrders.settings.get": Doc(
            "Get the contact-order settings", f"Statuses, list order and the permissions of each role.\n\n{ANYONE}"
        ),
        "contactOrders.settings.update": Doc(
            "Update the contact-order settings",
            "PATCH: only the fields sent change (the roles sent in `permissions` are replaced, the others "
            f"kept). Statuses: each code once, at least one active.\n\n{ADMIN}",
        ),
        "pointRules.get": Doc(
            "Get the point rules", f"Points per activity type (and category) given on completion.\n\n{ANYONE}"
        ),
        "pointRules.replace": Doc(
            "Replace the point rules",
            "PUT: every rule; at most one per (type, category); a category rule wins over its type's.\n\n" + ADMIN,
            request={
                "rules": [{"type": "call", "points": 1}, {"type": "meeting", "category": "customer_visit", "points": 5}]
            },
        ),
        "goals.get": Doc("Get a user's goals", f"Weekly count and points goals of one ISO year.\n\n{SELF_OR_MANAGER}"),
        "goals.replace": Doc(
            "Set a user's goals",
            "PUT: the weekly goal of completed activities (`count`) and/or `points` for the ISO year; "
            f"`quarters` override the weekly goal for their weeks.\n\n{MANAGER}",
            request={"count": {"weekly": 10, "quarters": {"4": 6}}, "points": {"weekly": 40}},
        ),
        "goals.delete": Doc("Delete a user's goals", f"Removes the year's goals.\n\n{MANAGER}"),
        "goals.report": Doc(
            "Report goals beside actuals",
            "Per week in [`from`, `to`]: goals and completed counts and points, for a user or a group. "
            f"{TENANT_DAYS}\n\n"
            f"{SELF_OR_MANAGER} (a group needs a manager or an admin)",
        ),
        "salesTargets.get": Doc(
            "Get a seller's sales targets", f"Count targets per CRM category and period.\n\n{SELF_OR_MANAGER}"
        ),
        "salesTargets.replace": Doc(
            "Set a seller's sales targets",
            "PUT: every target; one per category, which must carry sales targets (`GET /crm/settings`); "
            f"`period` is `week` (ISO week) or `month`.\n\n{MANAGER}",
            request={"targets": [{"category": "customer_visit", "period": "week", "count": 5}]},
        ),
        "salesTargets.report": Doc(
            "Report a seller's targets beside actuals",
            f"Per period, target and logged events of each category. {TENANT_DAYS}\n\n{SELF_OR_MANAGER}",
        ),
        "sellerView.get": Doc(
            "Get the seller's view",
            f"Cards per CRM category listing the seller's own events (e.g. Customer visits).\n\n{SELF_OR_MANAGER}",
        ),
        "marketingActivities.list": Doc(
            "List marketing activities",
            f"A person's (`contact_id`), an account's (`account_id`) or the tenant's, newest first. {PAGE}\n\n{ANYONE}",
        ),
        "marketingActivities.create": Doc(
            "Record a marketing activity",
            "A customer contact with a person: `type` incoming/outgoing call, visit, letter in/out, email "
            "or sms; `at` now when left out, `user_id` the caller. It counts on the tenant's local day. "
            f"{ZONED}\n\n{ANYONE}",
            request={
                "contact_id": ULID,
                "type": "outgoing_call",
                "subject": "Offer follow-up",
                "at": "2026-03-02T14:00:00+02:00",
            },
        ),
        "marketingActivities.get": Doc("Get a marketing activity", f"One by id.\n\n{ANYONE}"),
        "marketingActivities.delete": Doc(
            "Delete a marketing activity",
            "Who: the user who made the contact, its creator, a manager or an admin (403 otherwise).",
        ),
        "marketingActivities.stats": Doc(
            "Marketing statistics",
            "Counts per person and per type over [`from`, `to`], grouped by day, week or month. "
            f"{TENANT_DAYS}\n\n{ANYONE}",
        ),
        "massActivities.list": Doc(
            "List mass activities",
            "The tenant's mass activities in id (creation) order; filters: `name` (the start, case-insensitive), "
            "`active`, `target_group_id`, `created_by`. At most one filter, with `sort` (`id` or `name`) and "
            "`order` (`asc` or `desc`) on what its index serves: an exact filter lists in id order, `name` in name "
            "order; a second filter or another sort is a 400 naming the parameter (`unsupported_combination`). "
            f"{PAGE}\n\n{ANYONE}",
        ),
        "massActivities.create": Doc(
            "Create a mass activity",
            "Activities for every member of `target_group_id`, for each member's responsible user "
            "(`owner.mode` `member_owner`) or one named user (`user`), `now`, `at` a time or `recurring` "
            "(daily, weekly, monthly in `schedule.time_zone`). `activity.day` only with the non-recurring "
            "modes. Honours `Idempotency-Key`: a retry answers the first result.\n\n" + MANAGER,
            request={
                "target_group_id": ULID,
                "activity": {"type": "follow_up", "subject": "Spring offer follow-up", "days_after": 7},
                "schedule": {"mode": "now"},
            },
        ),
        "massActivities.get": Doc("Get a mass activity", f"One by id, with its schedule.\n\n{ANYONE}"),
        "massActivities.update": Doc(
            "Update a mass activity",
            f"PATCH: rename it or make it active or passive (a passive one does not run).\n\n{MANAGER}",
            request={"active": False},
        ),
        "massActivities.delete": Doc(
            "Delete a mass activity", f"Stops its schedule; activities already made stay.\n\n{MANAGER}"
        ),
        "massActivities.runs.list": Doc(
            "List a mass activity's runs",
            f"Each run with its counts, newest first; `from`/`to`: the runs of that time range. {PAGE}\n\n{ANYONE}",
        ),
    },
    operation_ids={
        "GET /calendar/{feed}": "calendar.feed",
        "PUT /crm/{list_name}": "crm.lists.replace",
        "GET /contact-orders/{order_id}/bookings": "contactOrders.bookings.list",
        "GET /goals/report": "goals.report",
        "GET /sales-targets/{user_id}/report": "salesTargets.report",
        "GET /marketing-activities/stats": "marketingActivities.stats",
    },
)
