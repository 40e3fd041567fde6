"""The feature modules of the sms service, named once.

They register at import: event subscriptions and jobs, tenant setting defaults. The registries
built on this list (`subscriptions.REGISTRY`, `service.DEFAULTS`) import every module here the
first time they are read. `tests/unit/test_features.py` fails when a module that registers is
missing here.
"""

from shared.features import Features

FEATURES = Features("services.sms", ["recipients", "setup"])
