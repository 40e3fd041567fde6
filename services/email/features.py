"""The feature modules of the email service, named once, by the registry each fills.

They register at import: event subscriptions, jobs, tenant setting defaults. The registries built on
this list (`subscriptions.REGISTRY`, `service.DEFAULTS`) import the modules listed for them the
first time they are read, so no handler imports them for their side effects, and the consumer
does not import the jobs' modules (nor the jobs function the consumer's, an API request either).
`tests/unit/test_features.py` fails when a module that registers is missing from its registry's list.
"""

from shared.features import Features

FEATURES = Features(
    "services.email",
    events={  # each module and the event types it subscribes to: a batch loads the modules of its types
        "campaign_recipients": ["audience.page"],
        "erasure": ["contact.erased"],
        "merges": ["account.merged", "contact.merged"],
        "recipients": [
            *("account.created", "account.deleted", "account.updated"),
            *("contact.created", "contact.deleted", "contact.erased", "contact.updated", "tenant.access_changed"),
        ],
        "transactional": ["email.send_requested"],
    },
    jobs=["automations", "campaign_launch"],
    defaults=["list_types", "transactional"],
)
