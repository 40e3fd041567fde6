"""The feature modules of the scanner service, named once, by the registry each fills.

They register at import: event subscriptions, jobs, tenant setting defaults. The registries built on
this list (`subscriptions.REGISTRY`, `service.DEFAULTS`) import the modules listed for them the
first time they are read, so a consumer's batch loads the modules of its events' types only.
`tests/unit/test_features.py` fails when a module that registers is missing from its registry's list.
"""

from shared.features import Features

FEATURES = Features(
    "services.scanner",
    events={  # each module and the event types it subscribes to
        "erasure": ["contact.erased"],
        "merges": ["account.merged", "contact.merged"],
        "deliveries": ["email.sent", "email.delivered", "email.bounced", "email.rejected", "email.failed"],
        "recipients": [
            *("account.created", "account.deleted", "account.updated"),
            *("contact.created", "contact.deleted", "contact.updated", "tenant.access_changed"),
        ],
    },
    defaults=["notifications"],
)
