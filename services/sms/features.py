"""The feature modules of the sms service, named once, by the registry each fills.

They register at import: event subscriptions, jobs, tenant setting defaults. The registries built on this
list (`subscriptions.REGISTRY`, `service.DEFAULTS`) import the modules listed for them the first
time they are read, so a consumer's batch loads the modules of its events' types only.
`tests/unit/test_features.py` fails when a module that registers is missing from its registry's list.
"""

from shared.features import Features

FEATURES = Features(
    "services.sms",
    events={  # each module and the event types it subscribes to
        "recipients": [
            *("account.created", "account.deleted", "account.updated"),
            *("contact.created", "contact.deleted", "contact.erased", "contact.updated", "tenant.access_changed"),
        ],
        "erasure": ["contact.erased"],
        "merges": ["account.merged", "contact.merged"],
        "requests": ["sms.send_requested"],
        "send_recipients": ["audience.page"],
        "target_groups": ["target_group.created", "target_group.deleted", "target_group.updated"],
    },
    jobs=["sweep", "sends"],
    defaults=["setup"],
)
