"""What the webhooks API documents for each operation (applied by `shared.operation_docs`).

Keyed by operationId, by the convention (`webhooks.endpoints.get`, `webhooks.endpoints.create`);
a new route left out keeps Powertools' summary and tests/unit/test_operation_docs.py names it.
"""

from shared.operation_docs import Doc, ServiceDocs, Tag

ANYONE = "Who: any user of the tenant."
ADMIN = "Who: admins only (403 for managers and users)."
PAGE = "A page of at most `limit` items (default 50, at most 200); pass `next_cursor` back as `cursor`."
SECRET = (
    "The answer carries the whole signing secret (`whsec_<base64>`), the only time it is shown; other "
    "answers show its first characters as `secret_prefix`."
)

DOCS = ServiceDocs(
    tags=(
        Tag(
            "webhook endpoints",
            "HTTPS endpoints of the tenant that receive Kontakt's events, signed by the Standard Webhooks "
            "specification (standardwebhooks.com), with their filters, headers, rate limits and secrets.",
            ("/webhooks/endpoints",),
        ),
        Tag(
            "webhook messages",
            "What was sent to an endpoint: each event as one message (its `webhook-id`), every attempt with "
            "the endpoint's answer, and replay of delivered or failed messages.",
            ("/webhooks/endpoints/{endpoint_id}/messages", "/webhooks/endpoints/{endpoint_id}/recover"),
        ),
        Tag(
            "webhook event types",
            "The event types an endpoint may subscribe to, each with its JSON Schema and an example, "
            "generated from the event catalogue.",
            ("/webhooks/event-types",),
        ),
    ),
    operations={
        "webhooks.endpoints.list": Doc(
            "List webhook endpoints", f"The tenant's endpoints in id order. {PAGE}\n\n{ADMIN}"
        ),
        "webhooks.endpoints.create": Doc(
            "Register a webhook endpoint",
            "`url` is https (http to loopback only under `kontakt dev`). `event_types` lists exact types or "
            "`<prefix>.*` wildcards of `GET /webhooks/event-types`; empty receives every type. `headers` are "
            "sent with every request (hop-by-hop, host, content-type, user-agent and `webhook-*` names are "
            f"refused with a 422 naming the header). {SECRET}\n\n{ADMIN}",
            request={
                "url": "https://hooks.example.com/kontakt",
                "description": "Order system",
                "event_types": ["contact.*", "email.delivered"],
                "rate_limit": 20,
                "headers": {"x-api-key": "abc123"},
            },
        ),
        "webhooks.endpoints.get": Doc("Get a webhook endpoint", f"One endpoint by id.\n\n{ADMIN}"),
        "webhooks.endpoints.update": Doc(
            "Change a webhook endpoint",
            "A JSON Merge Patch of the endpoint's fields (`rate_limit: null` removes the limit); the same rules "
            f"as on create.\n\n{ADMIN}",
            request={"enabled": False},
        ),
        "webhooks.endpoints.delete": Doc(
            "Delete a webhook endpoint", f"Removes the endpoint; nothing more is delivered to it.\n\n{ADMIN}"
        ),
        "webhooks.endpoints.rotateSecret": Doc(
            "Rotate an endpoint's signing secret",
            "Makes a new secret. The previous one stays valid for 24 hours (`previous_secret_expires_at`): "
            f"until then every request carries a signature by each. {SECRET}\n\n{ADMIN}",
        ),
        "webhooks.endpoints.messages.list": Doc(
            "List an endpoint's messages",
            "The endpoint's messages, newest first; `status` filters (a page may then be shorter than `limit`, "
            f"with a cursor), `from`/`to` bound the creation time. Kept for the tenant's retention. {PAGE}\n\n{ADMIN}",
        ),
        "webhooks.endpoints.messages.get": Doc(
            "Get a message", f"One message of the endpoint, with the request body it sends.\n\n{ADMIN}"
        ),
        "webhooks.endpoints.messages.attempts.list": Doc(
            "List a message's attempts",
            "Every attempt, the latest first: when, the URL, the status code, the latency, the response headers "
            f"and the first 4 KiB of the response body, or the error when no answer came. {PAGE}\n\n{ADMIN}",
        ),
        "webhooks.endpoints.messages.resend": Doc(
            "Resend a message",
            "A delivered or failed message goes out again now, with the same `webhook-id`, and retries on the "
            "schedule if that attempt fails. 409 while it is still being delivered or when the endpoint is "
            f"disabled.\n\n{ADMIN}",
        ),
        "webhooks.endpoints.recover": Doc(
            "Recover failed messages",
            "Every failed message of the endpoint created at or after `since` (and before `until`, default now) "
            f"goes out again, at most 1,000 a request (`more`: call again). 409 when the endpoint is disabled."
            f"\n\n{ADMIN}",
            request={"since": "2026-12-04T00:00:00Z"},
        ),
        "webhooks.eventTypes.get": Doc(
            "List the webhook event types",
            "Every event type of the catalogue an endpoint may receive, with its version, JSON Schema and an "
            f"example envelope. Internal commands (`*.send_requested`, `audience.*`) are not offered.\n\n{ANYONE}",
        ),
    },
)
