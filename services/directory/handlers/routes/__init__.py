"""The route modules of the directory API, one per feature, and the path prefixes each serves.

`handlers/api.py` builds its app on this list (`shared.api.create_app`): a module is imported and
its router mounted by the first request under one of its prefixes (modules whose prefixes nest,
together and in this order), every module before the OpenAPI document is built. A cold start so
pays for the routes of the feature it serves, not of every feature (docs/decisions.md, "Cold
start"). `tests/unit/test_routers.py` fails when a module is missing here or serves a route outside
its prefixes.
"""

from shared.api import RouteModules

ROUTERS = RouteModules(
    "services.directory.handlers.routes",
    {
        "accounts": ("/accounts",),
        "contacts": ("/contacts",),
        "users": (
            "/me",
            "/users",
        ),
        "groups": ("/groups",),
        "picklists": ("/picklists",),
        "settings": ("/settings",),
        "classes": (
            "/classes",
            "/classification-types",
        ),
        "target_groups": ("/target-groups",),
        "imports": ("/imports",),
        "search": ("/search",),
        "duplicates_rules": ("/duplicates/rules",),
        "duplicates": ("/duplicates",),
    },
)
