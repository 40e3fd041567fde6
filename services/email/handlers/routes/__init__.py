"""The route modules of the email API, one per feature, and the path prefixes each serves.

`handlers/api.py` builds its app on this list (`shared.api.create_app`): a module is imported and
its router mounted by the first request under one of its prefixes (modules whose prefixes nest,
together and in this order), every module before the OpenAPI document is built. A cold start so
pays for the routes of the feature it serves, not of every feature (docs/decisions.md, "Cold
start"). `tests/unit/test_routers.py` fails when a module is missing here or serves a route outside
its prefixes.
"""

from shared.api import RouteModules

ROUTERS = RouteModules(
    "services.email.handlers.routes",
    {
        "automations": ("/email/automations",),
        "campaign_files": ("/campaigns",),
        "campaign_launch": ("/campaigns",),
        "campaign_recipients": ("/campaigns",),
        "campaigns": ("/campaigns",),
        "list_types": ("/email/list-types",),
        "messages": ("/email/messages",),
        "public": ("/u",),
        "settings": ("/email/settings",),
        "templates": ("/email/templates",),
        "tracking": ("/t",),
    },
)
