"""What the access API documents for each operation (applied by `shared.operation_docs`).

Keyed by operationId, by the convention (`apiKeys.get`, `apiKeys.create`: from the path).
"""

from shared.operation_docs import Doc, ServiceDocs, Tag

ADMINS = "Who: admins of the tenant, signed in as users (an API key cannot manage keys)."
TAKES_EFFECT = "It takes effect within seconds (the authorizer's cache period, docs/decisions.md)."
PERMISSIONS = (
    "`permissions`: `<resource>:read` (its GETs), `<resource>:write` (its other methods), "
    "`<resource>:<action>` (a POST action such as `campaigns:send`) or `<METHOD> <path>` with `*` "
    "(`GET /contacts/*`); the resource is a route's first path segment, each checked against the API's routes."
)
KEYS = Tag(
    "API keys",
    "API keys: for integrations, sent as `Authorization: Bearer <key>`; each acts as a service user of the"
    " tenant (its `role`, its own id as the user) limited to its permissions, optionally to an IP allow-list"
    " and until an expiry. A request a key's permissions do not cover is a 403 naming the permission.",
    ("/api-keys",),
)

IP_RULES = Tag(
    "IP rules",
    "The tenant's IP rules: which addresses may call the API, for every user and API key of the tenant"
    " (checked by the authorizer; `deny` wins over `allow`; an empty `allow` allows every address not denied).",
    ("/ip-rules",),
)

LOGINS = Tag(
    "Sign-ins",
    "Each sign-in attempt of a user (succeeded, failed: a wrong password, refused: locked) with its time,"
    " address and user agent; and the lock-outs: 5 failed sign-ins of a user (20 from one address) within"
    " 15 minutes lock it for 1 minute, each lock after twice as long as the last (at most a day). While"
    " locked, a sign-in is refused even with the right password.",
    ("/logins", "/login-locks"),
)

DOCS = ServiceDocs(
    tags=(KEYS, IP_RULES, LOGINS),
    operations={
        "apiKeys.list": Doc(
            "List API keys",
            "The tenant's keys, oldest first, revoked ones too, with their last use (time and IP, noted at most"
            " once a minute per key). A page of at most `limit` keys (default 50, at most 200); pass"
            f" `next_cursor` back as `cursor`.\n\n{ADMINS}",
        ),
        "apiKeys.create": Doc(
            "Create an API key",
            f"{PERMISSIONS} `role`: what the key may do as a user (at most yours; default `user`). `expires_at`:"
            " none for a key that does not expire. `allowed_ips`: IPv4/IPv6 addresses or CIDR blocks (none: any IP)."
            f" The answer's `secret` is the key, shown this once: only its hash is kept.\n\n{ADMINS}",
            request={"name": "Website form", "permissions": ["contacts:read", "contacts:write"]},
        ),
        "apiKeys.get": Doc("Get an API key", f"One key by id, never its secret.\n\n{ADMINS}"),
        "apiKeys.update": Doc(
            "Change an API key",
            f"Its name, permissions, role, expiry or IP allow-list. {TAKES_EFFECT} A revoked key cannot be"
            f" changed (409).\n\n{ADMINS}",
            request={"permissions": ["contacts:read"]},
        ),
        "apiKeys.lock": Doc(
            "Lock an API key",
            f"Requests with the key are refused (401) until it is unlocked. {TAKES_EFFECT}\n\n{ADMINS}",
        ),
        "apiKeys.unlock": Doc("Unlock an API key", f"The key works again. {TAKES_EFFECT}\n\n{ADMINS}"),
        "ipRules.get": Doc("Get the IP rules", f"The tenant's `allow` and `deny` lists (CIDR blocks).\n\n{ADMINS}"),
        "ipRules.replace": Doc(
            "Replace the IP rules",
            "`allow` and `deny`: IPv4/IPv6 addresses or CIDR blocks (at most 50 each). Rules that would refuse the"
            " address this request comes from are refused (422 naming `allow` or `deny`): an admin cannot lock"
            f" themselves out. Requests from other addresses are refused (403) within about 10 seconds.\n\n{ADMINS}",
            request={"allow": ["203.0.113.0/24", "2001:db8::/32"], "deny": ["203.0.113.66"]},
        ),
        "logins.list": Doc(
            "List sign-ins",
            "A user's sign-in attempts, newest first: `user_id` (default: yours). A page of at most `limit`"
            " (default 50, at most 200); pass `next_cursor` back as `cursor`.\n\nWho: any user for their own;"
            " admins for any user of the tenant.",
        ),
        "loginLocks.list": Doc(
            "List login locks",
            "The tenant's failure counters per user (`user-<id>`) and address (`ip-<address>`), locked or not,"
            f" in id order.\n\n{ADMINS}",
        ),
        "loginLocks.delete": Doc(
            "Lift a login lock",
            "Deletes the counter: the user or address may sign in at once, and its next lock is again the"
            f" shortest.\n\n{ADMINS}",
        ),
        "apiKeys.revoke": Doc(
            "Revoke an API key",
            f"For good: the key is kept in the list (revoked) and never works again. {TAKES_EFFECT}\n\n{ADMINS}",
        ),
    },
)
