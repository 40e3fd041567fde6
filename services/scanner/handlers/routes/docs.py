"""What the scanner API documents for each operation (applied by `shared.operation_docs`).

Keyed by operationId, by the convention (`scanner.mailboxes.get`, `tickets.list`); a new route left
out keeps Powertools' summary and tests/unit/test_operation_docs.py names it.
"""

from shared.operation_docs import Doc, ServiceDocs, Tag

ANYONE = "Who: any user of the tenant."
ADMIN = "Who: an admin of the tenant."
SEES = (
    "Who: the ticket's owner (a user, or a member of the owning group), a manager or an admin; to anyone "
    "else the ticket does not exist (404)."
)
PAGE = "A page of at most `limit` items (default 50, at most 200); pass `next_cursor` back as `cursor`."
MAILBOXES = Tag(
    "mailboxes",
    "The addresses the email scanner watches: mail to a mailbox's address opens a ticket owned by the "
    "mailbox's owner. An address belongs to one mailbox of one tenant in the whole service.",
    ("/scanner/mailboxes",),
)
SETTINGS = Tag(
    "scanner settings",
    "The tenant's scanner settings: the change notifications mailed to a ticket's requester.",
    ("/scanner/settings",),
)
TICKETS = Tag(
    "tickets",
    "Support tickets opened by inbound mail, with their articles (the mails) and attachments.",
    ("/tickets",),
)
MAILBOX = {
    "address": "tuki@example.com",
    "name": "Asiakastuki",
    "owner": {"type": "group", "id": "support"},
    "active": True,
}

RULE = {
    "name": "Laskutus",
    "match": "any",
    "conditions": [
        {"field": "subject", "operator": "contains", "value": "lasku"},
        {"field": "header", "header": "X-Priority", "operator": "starts_with", "value": "1"},
    ],
    "actions": {"priority": "high", "category": "billing", "tags": ["invoice"], "create_contact": True},
    "stop": True,
}

DOCS = ServiceDocs(
    tags=(MAILBOXES, SETTINGS, TICKETS),
    operations={
        "scanner.mailboxes.list": Doc("List mailboxes", f"The tenant's mailboxes in id order. {PAGE}\n\n{ANYONE}"),
        "scanner.mailboxes.create": Doc(
            "Create a mailbox",
            "`address` is where the mail arrives (SES receives for the stack's domain; under `kontakt dev` the "
            "loopback SMTP listener). An address another mailbox of any tenant has is a 422 naming `address` "
            "(code `duplicate`). `owner` (a user or a group) owns the tickets the mailbox opens; an inactive "
            f"mailbox opens none (its mail is dropped).\n\n{ADMIN}",
            request=MAILBOX,
        ),
        "scanner.mailboxes.get": Doc("Get a mailbox", f"One mailbox by id.\n\n{ANYONE}"),
        "scanner.mailboxes.update": Doc(
            "Change a mailbox",
            "The fields sent replace the stored ones; a new `address` is refused as on create when another "
            f"mailbox has it. `If-Match` with the mailbox's ETag refuses a stale change (412).\n\n{ADMIN}",
            request={"active": False},
        ),
        "scanner.mailboxes.delete": Doc(
            "Delete a mailbox",
            f"The mailbox and its address go (another mailbox may take it); its tickets stay.\n\n{ADMIN}",
        ),
        "scanner.mailboxes.raw": Doc(
            "Post a raw message to a mailbox",
            "A raw RFC 5322 message, base64 encoded in `raw` (imports, tests), is stored where inbound mail is "
            "and processed like mail that arrived: it opens a ticket once the scanner has read it (202: "
            "asynchronously), once per Message-ID (or, without one, per content) and mailbox, however often it "
            f"is posted.\n\n{ADMIN}",
            request={"raw": "RnJvbTogbWFpamFAZXhhbXBsZS5maQpTdWJqZWN0OiBIZWxsbwoKSGkh"},
        ),
        "scanner.mailboxes.rules.list": Doc(
            "List a mailbox's rules",
            "The mailbox's scanner rules in the order they are evaluated (`position` 1 first). A mail that would "
            "open a new ticket (not one answering a ticket) goes through them: each rule that matches sets its "
            "actions over the earlier ones' (tags add up); a rule with `stop`, or one whose action is `skip` (no "
            f"ticket), ends the evaluation. {PAGE}\n\n{ANYONE}",
        ),
        "scanner.mailboxes.rules.create": Doc(
            "Create a rule",
            "Conditions on `from`, `to`, `cc` (each address and its name), `subject`, `body` or any `header`: "
            "`contains`, `equals`, `starts_with` (case-insensitive) or `regex`; `match` all or any (no "
            "conditions: every mail). A regular expression is compiled when the rule is saved (an invalid one "
            "is a 422 naming `conditions.<n>.value`) and runs with a time limit: one cut off does not match. "
            "Actions: status, priority, category, owner (a user or a group), tags, `create_contact` (the "
            "directory creates a contact for an unknown sender, through events), `skip` (no ticket); `stop` "
            "ends the evaluation. `position` places it (default last); a mailbox has at most 100 rules."
            f"\n\n{ADMIN}",
            request=RULE,
        ),
        "scanner.mailboxes.rules.get": Doc("Get a rule", f"One rule of the mailbox, with its `position`.\n\n{ANYONE}"),
        "scanner.mailboxes.rules.update": Doc(
            "Change or move a rule",
            "The fields sent replace the stored ones; `position` moves the rule (the others keep their order; "
            "past the end: last). Moves are safe when several admins reorder at once: each is applied to the "
            "order as it is then. `If-Match` with the rule's ETag refuses a stale change (412); a move changes "
            f"the rule's ETag too.\n\n{ADMIN}",
            request={"position": 1},
        ),
        "scanner.mailboxes.rules.delete": Doc(
            "Delete a rule", f"The rule goes; the later ones move up one place.\n\n{ADMIN}"
        ),
        "scanner.settings.notifications.get": Doc(
            "Get the change notifications",
            "Whether the requester of a ticket gets a mail when its status changes (`on_status`) and on a public "
            "comment (`on_comment`), and the standard template: `subject` and `text`, where `{number}`, "
            "`{subject}`, `{status}` and `{comment}` are filled in. Off by default; one template for every "
            "mailbox. No notification goes to a requester whose latest mail was automatic (an auto-reply, a "
            f"bounce), nor for an internal note.\n\n{ANYONE}",
        ),
        "scanner.settings.notifications.update": Doc(
            "Change the change notifications",
            "A merge patch of the setting. `If-Match` with the setting's ETag refuses a stale change (412)."
            f"\n\n{ADMIN}",
            request={"enabled": True, "subject": "[#TCK-{number}] {subject}: {status}"},
        ),
        "tickets.list": Doc(
            "List tickets",
            "The tickets the caller sees, oldest first. `contact_id` (the requester; a merged contact's id "
            "lists the survivor's), `owner_id` and "
            "`mailbox_id` each select one index; `status` and the other filters narrow each page as it is "
            f"read, so a page may hold fewer than `limit` tickets with a `next_cursor`: follow it until there "
            f"is none. {PAGE}\n\n{SEES}",
        ),
        "tickets.get": Doc(
            "Get a ticket",
            f"One ticket: number (the tenant's running number), subject, status, priority, owner, requester.\n\n{SEES}",
        ),
        "tickets.update": Doc(
            "Change a ticket",
            "`status`, `priority` and `owner`. Giving the ticket to another owner takes its owner, a manager "
            "or an admin, and the new owner must be within the caller's reach (422 naming `owner`). "
            f"`If-Match` with the ticket's ETag refuses a stale change (412). Publishes `ticket.updated`.\n\n{SEES}",
            request={"status": "open", "priority": "high"},
        ),
        "tickets.articles.list": Doc(
            "List a ticket's articles",
            f"The ticket's articles (its mails) oldest first, without their bodies. {PAGE}\n\n{SEES}",
        ),
        "tickets.articles.get": Doc(
            "Get an article",
            "One article with its bodies: `text`, `new_text` (without the quoted history) and the sanitised "
            "`html`, and its attachments with presigned `download_url`s valid for a few minutes. A mail that "
            "could not be parsed is `unparsable`, its source the attachment; bodies longer than an article "
            f"keeps are cut (`truncated`) and the whole source is attached.\n\n{SEES}",
        ),
        "tickets.replies.create": Doc(
            "Reply to a ticket",
            "Mails `text` (and the sanitised `html`) to the ticket's requester and each `cc` (a mail each, each "
            "with its own Message-ID) through the email service, from the ticket's mailbox (when the tenant may "
            "send from its address; otherwise from the tenant's From with the mailbox as Reply-To), with the "
            "ticket's tag `[#TCK-n]` in the subject and In-Reply-To/References of the thread, so the answer "
            "returns to the ticket. `attachments` name attachments of the ticket's own articles (422 naming "
            "the item when there is no such attachment; 25 MB in all). `status` changes the ticket's status "
            "with the reply. The reply is an `outbound_mail` article whose `delivery` lists each mail. "
            f"Publishes `ticket.replied` and `ticket.updated` (and `ticket.closed`).\n\n{SEES}",
            request={"text": "Hei Maija, tulostin on korjattu.", "cc": ["kollega@example.fi"], "status": "pending"},
        ),
        "tickets.notes.create": Doc(
            "Add a note to a ticket",
            "A `note` article, never mailed: internal by default; `internal: false` makes it a public comment, "
            "which the change notifications mail to the requester when the tenant has them on. Publishes "
            f"`ticket.updated`.\n\n{SEES}",
            request={"text": "Soitin asiakkaalle, palaa asiaan huomenna."},
        ),
    },
)
