"""The feature modules of the activities service, named once, by the registry each fills.

They register at import: hooks on activity changes (call list, points, calendar tombstones,
erasure), event subscriptions and jobs, tenant setting defaults. The registries built on this list
(`subscriptions.REGISTRY`, `service.DEFAULTS`, the hooks in `activities.py`) import the modules
listed for them the first time they are read, so no handler imports them for their side effects,
and a function imports only the registries' modules it reads (a consumer's batch, only the
modules of its events' types). `tests/unit/test_features.py` fails
when a module that registers is missing from its registry's list.
"""

from shared.features import Features

FEATURES = Features(
    "services.activities",
    events={  # each module and the event types it subscribes to: a batch loads the modules of its types
        "call_list.index": [
            *("account.created", "account.deleted", "account.updated", "class.created"),
            *("contact.created", "contact.deleted", "contact.erased", "contact.updated"),
            *("target_group.created", "target_group.deleted", "target_group.updated"),
        ],
        "erasure": ["contact.erased"],
        "goals": ["group.created", "group.deleted", "group.updated", "user.created"],
        "marketing": ["contact.erased", "email.sent", "sms.sent"],
        "mass": ["audience.page"],
        "merges": ["account.merged", "contact.merged"],
        "order_erasure": ["contact.erased"],
        "workflow_tasks": ["activity.create_requested"],
    },
    jobs=["mass", "reminders"],
    defaults=["admin", "order_settings", "points", "tenant"],
    hooks=["calendar", "call_list.latest", "erasure", "points"],
)
