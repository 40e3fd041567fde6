"""What the sms API documents for each operation (applied by `shared.operation_docs`).

Keyed by operationId (the convention: `sms.settings.get`, `sms.credits.create`); an operation left
out keeps Powertools' summary and tests/unit/test_operation_docs.py names it.
"""

from shared.operation_docs import Doc, ServiceDocs, Tag

ANYONE = "Who: any user of the tenant."
ADMIN = "Who: admins only (403 for managers and users)."
PAGE = "A page of at most `limit` items (default 50, at most 200); pass `next_cursor` back as `cursor`."

DOCS = ServiceDocs(
    tags=(
        Tag(
            "sms settings",
            "The tenant's SMS settings: activation, sender, numbering country, smart encoding, part limit, sending"
            " window and the keywords of inbound messages.",
            ("/sms/settings",),
        ),
        Tag(
            "sms credits",
            "SMS credits: one credit pays one message part. The balance, top-ups and the ledger of every change.",
            ("/sms/balance", "/sms/credits", "/sms/ledger"),
        ),
        Tag("sms preview", "What a text costs as SMS: its encoding, parts and credits.", ("/sms/preview",)),
        Tag("sms messages", "SMS to contacts: one message to one contact, and the messages sent.", ("/sms/messages",)),
        Tag(
            "sms sends",
            "SMS to the contacts of a target group, now or at a time: one message per number, the whole send's "
            "credits reserved at once, per-recipient statuses and counters.",
            ("/sms/sends",),
        ),
        Tag(
            "sms inbound",
            "SMS from handsets: the numbers that opted out of the tenant's marketing SMS, and the messages received.",
            ("/sms/opt-outs", "/sms/inbound"),
        ),
    ),
    operations={
        "sms.settings.get": Doc(
            "Get the SMS settings", f"The tenant's SMS settings (SMS is off until activated).\n\n{ANYONE}"
        ),
        "sms.settings.update": Doc(
            "Change the SMS settings",
            "A JSON Merge Patch: the fields sent replace the stored ones (`window: null` removes the window). "
            "`active: true` activates SMS for the tenant. A keyword may be in one list only (the standard words "
            "STOP, UNSUBSCRIBE, END, QUIT, CANCEL, OPTOUT, START, UNSTOP and HELP always apply); one in two "
            f"lists is a 422 naming the list.\n\n{ADMIN}",
            request={"active": True, "sender_id": "Kontakt", "window": {"start": "09:00", "end": "20:00"}},
        ),
        "sms.balance.get": Doc(
            "Get the SMS balance",
            "Credits `available` to sends, `reserved` by accepted sends and `charged` for parts the provider "
            f"accepted.\n\n{ANYONE}",
        ),
        "sms.credits.create": Doc(
            "Top up SMS credits",
            f"Adds `credits` to the available balance and writes a `top_up` ledger entry.\n\n{ADMIN}",
            request={"credits": 1000, "note": "Order 2026-118"},
        ),
        "sms.ledger.list": Doc(
            "List the SMS ledger",
            "Every change of the balance in time order: `top_up`, `reservation` (a send accepted), `charge` "
            f"(the provider accepted a message) and `refund` (a message failed or was not sent). {PAGE}\n\n{ADMIN}",
        ),
        "sms.ledger.get": Doc("Get a ledger entry", f"One entry of the SMS ledger.\n\n{ADMIN}"),
        "sms.preview": Doc(
            "Preview a text as SMS",
            "The text with its tags filled (`{{ contact.first_name }}`, `{{ account.name }}`, `{{ owner.id }}`: "
            "the fields email templates read, through the same sandboxed engine) for `contact_id`, or for a "
            "built-in sample contact when none is given; then its encoding (GSM-7, or UCS-2 when any character "
            "is outside GSM-7), its characters, units (septets, an extension character counting 2; or UTF-16 code "
            "units), its parts (160 septets or 70 units in one; 153 or 67 each when more, never splitting an "
            "escape or surrogate pair) and the credits one recipient costs, under the tenant's settings (smart "
            "encoding, part limit). A syntax error, an unknown tag or a fill over the sandbox's limits is a 422 "
            "naming `text`; a contact the caller may not see, deleted or unknown is a 422 naming `contact_id`."
            f"\n\n{ANYONE}",
            request={"text": "Hei {{ contact.first_name }}! Tarjous voimassa perjantaihin asti."},
        ),
        "sms.messages.create": Doc(
            "Send an SMS to a contact",
            "A module tool's message to one contact: the number in the contact field `number_field` (`mobile` or "
            "`phone`), read with the tenant's `default_country`. Refused whole, with nothing reserved or queued: "
            "SMS not activated (403 naming `active`); a contact the caller may not see, deleted or unknown (422 "
            "naming `contact_id`); no number, an invalid one or one that is not a mobile number (422 naming "
            "`number_field`); a number that opted out (an inbound STOP or one of the tenant's opt-out words) for a "
            "marketing message, or for a transactional one unless the tenant's `transactional_to_opted_out` is on "
            "(422 naming `number_field`, code `opted_out`); a syntax error or an unknown tag in the text (422 "
            "naming `text`); more parts than the tenant's `max_parts` once the tags are filled (422 naming `text`); "
            "a balance short of the message's parts (402 `insufficient_credits`). The text's tags "
            "(`{{ contact.first_name }}`, `{{ account.name }}`, `{{ owner.id }}`) are filled for the contact, and "
            "the parts and credits are those of the filled text; a fill over the template sandbox's limits records "
            "the message `failed` with the `reason`, nothing reserved or sent. An accepted message reserves one "
            "credit per part "
            "in the same transaction and is `queued` for sending; the provider's acceptance charges them, a "
            "failure refunds them. Send an `Idempotency-Key` to make a retry safe."
            f"\n\n{ANYONE} (who may see the contact)",
            request={
                "contact_id": "01JCONTACT0000000000000000",
                "number_field": "mobile",
                "text": "Hei {{ contact.first_name }}! Tilauksesi on noudettavissa.",
            },
        ),
        "sms.messages.list": Doc(
            "List SMS messages",
            "The tenant's messages, or one contact's with `contact_id`, newest first; `from`/`to` bound the "
            "creation time. `status` filters each page as it is read, so a page may hold fewer than `limit` "
            f"messages with a `next_cursor`: follow it until there is none. {PAGE}\n\n"
            f"{ANYONE}: a user who does not see every contact gets the messages to contacts they see.",
        ),
        "sms.messages.get": Doc(
            "Get an SMS message",
            f"One message with its status. A message to a contact the caller may not see is 404.\n\n{ANYONE}",
        ),
        "sms.sends": Doc(
            "Send an SMS to a target group",
            "Sends `text` to the contacts of `target_group_id` that the caller may see, now or at `scheduled_at` "
            "(the group is resolved then: the members at that time are the ones sent to). Answers 202 with the send; "
            "its `status` moves on: `scheduled` -> `resolving` (the directory's pages are staged) -> `sending` (the "
            "whole send's credits reserved in one step when its last page came; shown `sent` once no message is "
            "queued) or `refused` (the balance did not cover every message: nothing reserved or sent, its messages "
            "`skipped`, the `reason` says why) or `failed` (the group could not be resolved: an unknown group, or "
            "another tenant's, or one the caller may not see; the `reason` names `target_group_id`). Each member "
            "gets one message per number (the same number twice in one send is one message), the number read from "
            "`number_field` with the tenant's `default_country`: no number, an invalid one or a landline is "
            "`invalid_number`; a number that opted out is `opted_out` (transactional sends reach it when the "
            "tenant's `transactional_to_opted_out` is on); the tags are filled per contact. Refused with nothing "
            "written: SMS not activated (403 naming `active`); a syntax error or an unknown tag in the text, or more "
            "parts than the tenant's `max_parts` as written (422 naming `text`); a `scheduled_at` in the past "
            "(422 naming `scheduled_at`). Send an `Idempotency-Key` to make a retry safe."
            f"\n\n{ANYONE}",
            request={"target_group_id": "01JGROUP00000000000000000", "text": "Hei {{ contact.first_name }}!"},
        ),
        "sms.sends.list": Doc(
            "List SMS sends",
            f"The tenant's sends to target groups, oldest first, each with its `stats`. {PAGE}\n\n{ANYONE}",
        ),
        "sms.sends.get": Doc(
            "Get an SMS send",
            "One send with its status and `stats`: its messages counted in their current status (`recipients` is "
            "their number; `queued` includes the ones the sender is sending), kept in the same transactions as "
            f"the messages' changes.\n\n{ANYONE}",
        ),
        "sms.sends.cancel": Doc(
            "Cancel an SMS send",
            "Cancels a send that is `scheduled` or still `resolving` (its schedule removed; its staged messages "
            "`skipped`; nothing reserved or sent). A send whose credits are reserved (`sending` or beyond) is a "
            "409.\n\nWho: the send's creator, managers and admins (403 for other users).",
        ),
        "sms.sends.messages.list": Doc(
            "List the messages of an SMS send",
            "The send's messages in id order with their `status` and `reason`; `status` filters each page as it is "
            f"read (follow `next_cursor` until there is none). {PAGE}\n\n{ANYONE}: a user who does not see every "
            "contact gets the messages to contacts they see.",
        ),
        "sms.optOuts.list": Doc(
            "List opted-out numbers",
            "The numbers that sent an opt-out keyword (STOP, UNSUBSCRIBE, END, QUIT, CANCEL, OPTOUT or one of the "
            "tenant's `opt_out_keywords`, as the whole message, in any case) in answer to this tenant's SMS, newest "
            "first. Marketing SMS to them are refused at once; an opt-in keyword (START, UNSTOP or the tenant's) "
            f"removes the number. {PAGE}\n\n{ADMIN}",
        ),
        "sms.inbound.list": Doc(
            "List inbound SMS",
            "The messages handsets sent in answer to this tenant's SMS that were not keywords, newest first, each "
            "on the contact whose mobile number sent it (or on none); `contact_id` lists one contact's. A reply is "
            "this tenant's when it answers a message this tenant sent (one number serves many tenants); a reply to "
            f"no message of ours is dropped. {PAGE}\n\n{ANYONE}: a user who does not see every contact gets the "
            "messages of contacts they see.",
        ),
    },
)
