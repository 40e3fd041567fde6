"""The route modules of the activities API, one per feature, and the path prefixes each serves.

`handlers/api.py` builds its app on this list (`shared.api.create_app`): a module is imported and
its router mounted by the first request under one of its prefixes (modules whose prefixes nest,
together and in this order), every module before the OpenAPI document is built. A cold start so
pays for the routes of the feature it serves, not of every feature (docs/decisions.md, "Cold
start"). `tests/unit/test_routers.py` fails when a module is missing here or serves a route outside
its prefixes.
"""

from shared.api import RouteModules

ROUTERS = RouteModules(
    "services.activities.handlers.routes",
    {
        "activities": ("/activities",),
        "admin": (
            "/activity-types",
            "/crm",
        ),
        "call_list": ("/call-list",),
        "order_settings": ("/contact-orders/settings",),
        "facilities": ("/contact-orders/facilities",),
        "order_favourites": ("/contact-orders/favourites",),
        "contact_orders": ("/contact-orders",),
        "order_notes": ("/contact-orders",),
        "order_bookings": ("/contact-orders",),
        "order_files": ("/contact-orders",),
        "goals": (
            "/goals",
            "/point-rules",
            "/sales-targets",
            "/seller-view",
        ),
        "marketing": ("/marketing-activities",),
        "mass": ("/mass-activities",),
        "calendar": (
            "/calendar",
            "/calendar-feeds",
            "/todo",
        ),
        "settings": ("/activity-settings",),
    },
)
