"""The feature modules of the workflows service, named once, by the registry each fills.

They register at import: event subscriptions, jobs, tenant setting defaults. The registries built on
this list (`subscriptions.REGISTRY`, `service.DEFAULTS`) import the modules listed for them the
first time they are read, so a consumer's batch loads the modules of its events' types only.
`tests/unit/test_features.py` fails when a module that registers is missing from its registry's list.
"""

from shared.features import Features

FEATURES = Features(
    "services.workflows",
    events={
        "runs": ["contact.created", "contact.updated", "account.created", "account.updated"],
        "erasure": ["contact.erased"],
        "merges": ["account.merged", "contact.merged"],
        "refusals": [
            "account.update_refused",
            "activity.create_refused",
            "contact.update_refused",
            "webhook.call_refused",
        ],
    },
    jobs=["sweep"],
)
