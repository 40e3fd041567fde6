"""What the webhooks API documents for each operation (applied by `shared.operation_docs`).

Keyed by operationId, by the convention (`webhooks.endpoints.get`, `webhooks.endpoints.create`);
a new route left out keeps Powertools' summary and tests/unit/test_operation_docs.py names it.
"""

from shared.operation_docs import Doc, ServiceDocs, Tag

ANYONE = "Who: any user of the tenant."
ADMIN = "Who: admins only (403 for managers and users)."
PAGE = "A page of at most `limit` items (default 50, at most 200); pass `next_cursor` back as `cursor`."
URL_RULES = (
    "`url` is https; http only when the tenant's settings have `allow_http` (a 422 naming `url`, code "
    "`http_not_allowed`; loopback http is always allowed under `kontakt dev`). Its host is resolved when saved: "
    "a name any of whose addresses is loopback, private, link-local (the metadata service), CGNAT, multicast, "
    "unspecified, unique-local or an IPv4-mapped form of those is refused with a 422 naming `url` "
    "(`outbound_refused`) unless the stack's OutboundAllow allows it, and a name that does not resolve with "
    "`unresolvable_host`."
)
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
            "webhook settings",
            "The tenant's webhook settings: whether endpoints may use plain http, and how many days the delivery "
            "log keeps its records.",
            ("/webhooks/settings",),
        ),
        Tag(
            "webhook messages",
            "What was sent to an endpoint: each event as one message (its `webhook-id`), every attempt with "
            "the endpoint's answer, and replay of delivered or failed messages.",
            (
                "/webhooks/endpoints/{endpoint_id}/messages",
                "/webhooks/endpoints/{endpoint_id}/recover",
                "/webhooks/endpoints/{endpoint_id}/test",
            ),
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
            f"{URL_RULES} `event_types` lists exact types or "
            "`<prefix>.*` wildcards of `GET /webhooks/event-types`; empty receives every type. `headers` are "
            "sent with every request (hop-by-hop, host, content-type, user-agent and `webhook-*` names are "
            "refused with a 422 naming the header). A tenant has at most 50 endpoints: the 51st is a 409 "
            f"(`endpoint_limit`). {SECRET}\n\n{ADMIN}",
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
            "A JSON Merge Patch of the endpoint's fields (`rate_limit: null` removes the limit); a `url` sent is "
            "checked as on create. `enabled: false` disables the endpoint with `disabled_reason` `manual`; "
            "`enabled: true` enables it again, whatever disabled it (`manual`, `gone` after a 410, `failing` after "
            f"days without a success), and clears `disabled_reason` and `disabled_at`.\n\n{ADMIN}",
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
        "webhooks.settings.get": Doc(
            "Get the webhook settings",
            f"The tenant's webhook settings (https only and 30 days of delivery log until changed).\n\n{ANYONE}",
        ),
        "webhooks.settings.update": Doc(
            "Change the webhook settings",
            "A JSON Merge Patch: the fields sent replace the stored ones. `allow_http: true` lets endpoint URLs use "
            "plain http to any host. `allow_http: false` is refused with a 409 (`http_in_use`, each endpoint named "
            "in `errors`) while endpoints use http (but loopback under `kontakt dev`): change them to https or "
            "delete them first; nothing is disabled behind the admin's back. `retention_days` (1-90) is how long "
            f"each message and attempt record written from then on is kept.\n\n{ADMIN}",
            request={"allow_http": True, "retention_days": 14},
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
        "webhooks.endpoints.test": Doc(
            "Send a test event",
            "Delivers a `webhook.test` event to this endpoint only, signed and retried as any other message; "
            f"the answer is the message, to follow in the log. 409 when the endpoint is disabled.\n\n{ADMIN}",
        ),
        "webhooks.eventTypes.get": Doc(
            "List the webhook event types",
            "Every event type of the catalogue an endpoint may receive, with its version, JSON Schema and an "
            f"example envelope. Internal commands (`*.send_requested`, `audience.*`) are not offered.\n\n{ANYONE}",
        ),
    },
)
