"""The route modules of the access API, one per feature, and the path prefixes each serves.

`handlers/api.py` builds its app on this list (`shared.api.create_app`): a module is imported and
its router mounted by the first request under one of its prefixes, every module before the OpenAPI
document is built. `tests/unit/test_routers.py` fails when a module is missing here or serves a
route outside its prefixes.
"""

from shared.api import RouteModules

ROUTERS = RouteModules(
    "services.access.handlers.routes",
    {"keys": ("/api-keys",), "ip_rules": ("/ip-rules",), "logins": ("/logins", "/login-locks")},
)
