"""The feature modules of the directory, named once.

None registers at import today: the directory's tenant defaults are registered beside its caller
(`service.py`) and its consumer names its handlers in one dict. A feature module that comes to
subscribe or register a default is listed here (`tests/unit/test_features.py` fails otherwise).
"""

from shared.features import Features

FEATURES = Features("services.directory", [])
