"""What the email API documents for each operation (applied by `shared.operation_docs`).

Keyed by operationId (the convention: `email.templates.get`, `campaigns.send`); an operation left
out keeps Powertools' summary and tests/unit/test_operation_docs.py names it.
"""

from shared.operation_docs import Doc, ServiceDocs, Tag

ANYONE = "Who: any user of the tenant."
ADMIN = "Who: admins only (403 for managers and users)."
MANAGER = "Who: managers and admins (403 for users)."
CREATOR = "Who: the creator, a manager or an admin (403 otherwise); every user of the tenant sees it."
PAGE = "A page of at most `limit` items (default 50, at most 200); pass `next_cursor` back as `cursor`."
VERSION = (
    "Send `If-Match` with the `ETag` you read: a save by someone else in between is a 412 (reload and retry); "
    "null clears an optional field."
)
JINJA = (
    "`subject`, `html` and `text` are Jinja templates rendered in a sandbox: tags pull the recipient's fields "
    "(`{{ first_name }}`, `{{ account.name }}`); syntax and unsafe or unbounded constructs are refused when "
    "saved (422 `invalid_template` naming the part)."
)
SORT = (
    "At most one filter, with `sort` and `order` (`asc` or `desc`) on what its index serves: an exact filter lists "
    "in id order, `name` (the start of the name, case-insensitive) in name order; a second filter or another sort "
    "is a 400 naming the parameter (`unsupported_combination`)."
)
CAMPAIGN_STATE = "A campaign in a status that does not allow this is a 409 naming its status."
ULID = "01JD8X6Z5N9V2K4T7Q3W8E1R0A"
TEMPLATE = {
    "name": "Welcome",
    "subject": "Welcome, {{ first_name }}",
    "html": "<p>Hello {{ first_name }},</p><p>Welcome aboard.</p>",
    "text": "Hello {{ first_name }}, welcome aboard.",
}

DOCS = ServiceDocs(
    tags=(
        Tag(
            "email templates",
            "Jinja templates of subject, HTML and text, previewed against a contact.",
            ("/email/templates",),
        ),
        Tag(
            "campaigns",
            "Mail to a target group's contacts, bound to a list type: send, schedule, pause, track.",
            ("/campaigns",),
        ),
        Tag(
            "email automations",
            "Scheduled mail to the contacts that match a target group at each firing.",
            ("/email/automations",),
        ),
        Tag(
            "email list types",
            "Opt-out lists every send is bound to, and the opt-outs recorded on them.",
            ("/email/list-types",),
        ),
        Tag("email messages", "The mails sent or refused, per tenant or per contact.", ("/email/messages",)),
        Tag("email settings", "The sending identity and transport (SES or SMTP).", ("/email/settings",)),
        Tag(
            "email public pages",
            "Pages a recipient reaches from a mail, without a login: unsubscribe, link tracking.",
            ("/u", "/t"),
        ),
    ),
    operations={
        "email.templates.list": Doc(
            "List templates",
            "The tenant's templates in id (creation) order, without HTML and text; filters: `name`, `created_by`. "
            f"{SORT} {PAGE}\n\n{ANYONE}",
        ),
        "email.templates.create": Doc(
            "Create a template", f"{JINJA} `name`, `subject` and `html` are required.\n\n{ANYONE}", request=TEMPLATE
        ),
        "email.templates.get": Doc("Get a template", f"One template with its HTML.\n\n{ANYONE}"),
        "email.templates.update": Doc(
            "Update a template",
            f"PATCH: only the fields sent change. {JINJA} {VERSION}\n\n{CREATOR}",
            request={"subject": "Welcome to Acme, {{ first_name }}"},
        ),
        "email.templates.delete": Doc("Delete a template", f"Removes the template.\n\n{CREATOR}"),
        "email.templates.preview": Doc(
            "Preview a template",
            "Renders subject, HTML and text for `contact_id` (a contact you may see) with optional sample "
            "`record` data; what only a render shows fails here (`render_failed`, `render_limit`).\n\n" + ANYONE,
            request={"contact_id": ULID},
        ),
        "campaigns.list": Doc(
            "List campaigns",
            "The tenant's campaigns with their statistics, in id (creation) order; filters: `name`, `status` (as "
            "shown: `sent` is a sending campaign with every mail out), `template_id`, `list_type_id`, "
            "`target_group_id`, `created_by`, and `send_from`/`send_to` (one filter together: the send time, "
            "scheduled or else started, in that order; `sort=send_time` lists every campaign that has one). "
            f"A `status` page may hold fewer than `limit` campaigns with a `next_cursor`. {SORT} {PAGE}\n\n{ANYONE}",
        ),
        "campaigns.create": Doc(
            "Create a campaign",
            "A draft mailing `template_id` to the contacts of `target_group_id`, bound to the opt-out list "
            "`list_type_id` (a contact who opted out of it is skipped). `automatic_template_id` is mailed "
            f"to each contact added by hand.\n\n{ANYONE}",
            request={
                "name": "Spring newsletter",
                "template_id": ULID,
                "list_type_id": "marketing",
                "target_group_id": ULID,
            },
        ),
        "campaigns.get": Doc(
            "Get a campaign", f"One campaign with its status and counts (sent, opened, clicked, failed).\n\n{ANYONE}"
        ),
        "campaigns.update": Doc(
            "Update a campaign",
            f"PATCH a draft (409 otherwise). {VERSION}\n\n{CREATOR}",
            request={"name": "Spring newsletter 2026"},
        ),
        "campaigns.delete": Doc("Delete a campaign", f"{CAMPAIGN_STATE}\n\n{CREATOR}"),
        "campaigns.send": Doc(
            "Send a campaign now",
            "Resolves the target group at this moment, as the caller sees it, and mails each contact "
            f"with an address who has not opted out of the list type. {CAMPAIGN_STATE} (a draft or a "
            f"scheduled campaign may be sent).\n\n{CREATOR}",
        ),
        "campaigns.schedule": Doc(
            "Schedule a campaign",
            "Sends at `send_at` (with a time zone, in the future); scheduling again moves the time. "
            f"{CAMPAIGN_STATE}\n\n{CREATOR}",
            request={"send_at": "2026-03-09T08:00:00+02:00"},
        ),
        "campaigns.pause": Doc("Pause a sending campaign", f"{CAMPAIGN_STATE}\n\n{CREATOR}"),
        "campaigns.resume": Doc("Resume a paused campaign", f"{CAMPAIGN_STATE}\n\n{CREATOR}"),
        "campaigns.cancel": Doc("Cancel a campaign", f"Mails not sent yet are not sent. {CAMPAIGN_STATE}\n\n{CREATOR}"),
        "campaigns.recipients.list": Doc(
            "List a campaign's recipients", f"Each recipient with the mail's status. {PAGE}\n\n{ANYONE}"
        ),
        "campaigns.contacts.add": Doc(
            "Add contacts by hand",
            "Each contact added gets the campaign's automatic template once (a contact added again is not "
            f"mailed again). {CAMPAIGN_STATE}\n\n{CREATOR}",
            request={"contact_ids": [ULID]},
        ),
        "campaigns.attachments.create": Doc(
            "Start a campaign attachment upload",
            "A file for every mail of the campaign, 5 MB in all per campaign. Answers a pre-signed upload "
            "URL: PUT the file there, then confirm it. A draft only.\n\n" + CREATOR,
            request={"name": "offer.pdf", "content_type": "application/pdf", "size": 48213},
        ),
        "campaigns.attachments.confirm": Doc(
            "Confirm an uploaded attachment", f"409 when the file is not uploaded yet.\n\n{CREATOR}"
        ),
        "campaigns.attachments.delete": Doc("Remove an attachment", f"A draft only.\n\n{CREATOR}"),
        "email.automations.list": Doc(
            "List automations",
            "The tenant's automations in id (creation) order; filters: `name`, `active`, `template_id`, "
            f"`list_type_id`, `target_group_id`. {SORT} {PAGE}\n\n{ANYONE}",
        ),
        "email.automations.create": Doc(
            "Create an automation",
            "Mails `template_id` on `schedule` (an EventBridge `rate(...)` or `cron(...)` expression, or "
            "daily, weekly or monthly at the local time of `start` in `time_zone`) to the contacts that match "
            "`target_group_id` at each firing, bound to `list_type_id`. "
            "`repeats: false` mails each contact once per automation, ever. An inactive automation has no "
            "schedule.\n\n" + MANAGER,
            request={
                "name": "Weekly digest",
                "template_id": ULID,
                "list_type_id": "marketing",
                "target_group_id": ULID,
                "schedule": {"mode": "rate", "expression": "rate(7 days)"},
                "repeats": True,
            },
        ),
        "email.automations.get": Doc("Get an automation", f"One automation by id.\n\n{ANYONE}"),
        "email.automations.update": Doc(
            "Update an automation",
            f"PATCH any field; the schedule follows the record. {VERSION}\n\n{MANAGER}",
            request={"active": False},
        ),
        "email.automations.delete": Doc("Delete an automation", f"Removes it and its schedule.\n\n{MANAGER}"),
        "email.automations.runs.list": Doc(
            "List an automation's runs",
            "Each firing with its counts, newest first; `from`/`to`: the firings scheduled in that range. "
            f"{PAGE}\n\n{ANYONE}",
        ),
        "email.listTypes.list": Doc(
            "List list types",
            "The tenant's opt-out lists (`marketing` and the others made), in id order; filter: `name`. "
            f"{SORT} {PAGE}\n\n{ANYONE}",
        ),
        "email.listTypes.create": Doc(
            "Create a list type",
            "An opt-out list: a contact can refuse marketing mail and still get critical notices of "
            f"another list type.\n\n{MANAGER}",
            request={"name": "Product news"},
        ),
        "email.listTypes.get": Doc("Get a list type", f"One list type by id.\n\n{ANYONE}"),
        "email.listTypes.update": Doc(
            "Update a list type", f"PATCH. {VERSION}\n\n{MANAGER}", request={"name": "Product news"}
        ),
        "email.listTypes.delete": Doc("Delete a list type", f"Removes the list type.\n\n{MANAGER}"),
        "email.listTypes.optOuts.list": Doc(
            "List a list type's opt-outs",
            "The addresses that refused this list type, in address order; `address`: those whose address starts "
            f"so (case-insensitive). {PAGE}\n\n{ANYONE}",
        ),
        "email.listTypes.optOuts.create": Doc(
            "Record an opt-out",
            "An address that refused the list type (the recipient said so by phone, say); sends of the list "
            f"type skip it.\n\n{MANAGER}",
            request={"address": "ada.lovelace@example.com"},
        ),
        "email.listTypes.optOuts.delete": Doc(
            "Remove an opt-out", f"The address (`address` query parameter) is mailed again.\n\n{MANAGER}"
        ),
        "email.messages.list": Doc(
            "List sent mail",
            "The mails sent (or refused), newest first: the tenant's, or a contact's with `contact_id`. "
            f"{PAGE}\n\n{ANYONE}",
        ),
        "email.messages.get": Doc("Get a sent mail", f"One message with its status and events.\n\n{ANYONE}"),
        "email.settings.get": Doc("Get the email settings", f"The From address and the transport.\n\n{ADMIN}"),
        "email.settings.replace": Doc(
            "Replace the email settings",
            "PUT: transport `smtp` needs `smtp`; transport `ses` needs a From address SES has verified "
            f"(422 `unverified_identity`).\n\n{ADMIN}",
            request={"from_address": "news@example.com", "from_name": "Acme", "transport": "ses"},
        ),
        "unsubscribe.page": Doc(
            "Unsubscribe landing page",
            "Public, no token: the HTML page a mail's unsubscribe link opens, to unsubscribe from (or "
            "subscribe again to) the mail's list type. An invalid or expired link answers 404.",
        ),
        "unsubscribe.confirm": Doc(
            "Unsubscribe (one click)",
            "Public, no token: the page's form, or a mail client's one-click `List-Unsubscribe-Post` "
            "(form-encoded), records the opt-out (or the subscription again) and publishes `email.unsubscribed`.",
        ),
        "tracking.follow": Doc(
            "Follow a tracked link",
            "Public, no token: counts the open (the pixel) or the click and redirects to the link's target. "
            "An invalid link answers 404.",
        ),
    },
    operation_ids={
        "POST /campaigns/{campaign_id}/contacts": "campaigns.contacts.add",
        "GET /u/{token}": "unsubscribe.page",
        "POST /u/{token}": "unsubscribe.confirm",
        "GET /t/{token}": "tracking.follow",
    },
)
