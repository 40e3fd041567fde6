"""The feature modules of the access service, named once, by the registry each fills.

They register at import: event subscriptions, jobs, tenant setting defaults. The service consumes
no events and has no jobs: the tenant's IP rules (`ip_rules`) are its one setting.
`tests/unit/test_features.py` fails when a module that registers is missing from its registry's list.
"""

from shared.features import Features

FEATURES = Features("services.access", defaults=["ip_rules"])
