"""The feature modules of the activities service, named once, by the registry each fills.

They register at import: hooks on activity changes (call list, points, calendar tombstones,
erasure), event subscriptions and jobs, tenant setting defaults. The registries built on this list
(`subscriptions.REGISTRY`, `service.DEFAULTS`, the hooks in `activities.py`) import the modules
listed for them the first time they are read, so no handler imports them for their side effects,
and a function imports only the registries' modules it reads. `tests/unit/test_features.py` fails
when a module that registers is missing from its registry's list.
"""

from shared.features import Features

FEATURES = Features(
    "services.activities",
    events=["call_list.index", "erasure", "goals", "marketing", "mass", "order_erasure"],
    jobs=["mass", "reminders"],
    defaults=["admin", "order_settings", "points", "tenant"],
    hooks=["calendar", "call_list.latest", "erasure", "points"],
)
