"""The feature modules of the activities service, named once.

They register at import: hooks on activity changes (call list, points, calendar tombstones,
erasure), event subscriptions and jobs, tenant setting defaults. The registries built on this list
(`subscriptions.REGISTRY`, `service.DEFAULTS`, the hooks in `activities.py`) import every module
here the first time they are read, so no handler imports them for their side effects.
`tests/unit/test_features.py` fails when a module that registers is missing here.
"""

from shared.features import Features

FEATURES = Features(
    "services.activities",
    [
        "admin",
        "calendar",
        "call_list.index",
        "call_list.latest",
        "erasure",
        "goals",
        "marketing",
        "mass",
        "order_erasure",
        "order_settings",
        "points",
        "reminders",
        "tenant",
    ],
)
