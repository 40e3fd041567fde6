"""The feature modules of the audit service, named once, by the registry each fills.

The trail's consumer is not a registry's: it takes every event type, whole batches at once
(`handlers/consumer.py`). `setup` registers the tenant's audit settings' defaults.
`tests/unit/test_features.py` fails when a module that registers is missing from its registry's list.
"""

from shared.features import Features

FEATURES = Features("services.audit", defaults=["setup"])
