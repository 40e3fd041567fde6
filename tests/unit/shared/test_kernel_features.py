"""shared.features: a service's registries import its named feature modules the first time they are read."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.features import Features, Hooks
from shared.service import Defaults
from shared.subscriptions import Subscriptions

pytestmark = pytest.mark.disable_socket

PACKAGE = "kernel_features_shop"


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A package `kernel_features_shop` whose modules register with `registries` (set by the test)."""
    package = tmp_path / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield package
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


def write(package: Path, modules: dict[str, str]) -> None:
    for name, text in modules.items():
        (package / f"{name}.py").write_text(text)


def test_each_registry_loads_every_named_module_on_first_read(shop: Path) -> None:
    write(
        shop,
        {
            "registries": (
                "from shared.features import Features, Hooks\n"
                "from shared.service import Defaults\n"
                "from shared.subscriptions import Subscriptions\n"
                f"FEATURES = Features({PACKAGE!r}, ['orders', 'prices'])\n"
                "SUBSCRIPTIONS = Subscriptions(FEATURES)\n"
                "DEFAULTS = Defaults(FEATURES)\n"
                "HOOKS = Hooks(FEATURES)\n"
            ),
            "orders": (
                "from kernel_features_shop.registries import SUBSCRIPTIONS, HOOKS\n"
                "ran = []\n"
                "@SUBSCRIPTIONS.subscribe('order.placed')\n"
                "def placed(envelope, uow): ran.append('placed')\n"
                "@SUBSCRIPTIONS.job('orders.sweep')\n"
                "def sweep(job): ran.append(job.job)\n"
                "@HOOKS.register\n"
                "def on_order(): ran.append('hook')\n"
            ),
            "prices": (
                "from kernel_features_shop.registries import DEFAULTS\n"
                "DEFAULTS.register('prices', lambda: {'currency': 'EUR'})\n"
            ),
        },
    )
    from kernel_features_shop import registries  # type: ignore[import-not-found]

    assert "kernel_features_shop.orders" not in sys.modules  # nothing loaded at import
    assert registries.DEFAULTS.names == {"prices"}
    assert registries.DEFAULTS.value("prices") == {"currency": "EUR"}
    assert list(registries.SUBSCRIPTIONS.handlers()) == ["order.placed"]
    registries.SUBSCRIPTIONS.run_job({"job": "orders.sweep"})
    for hook in registries.HOOKS:
        hook()
    assert sys.modules["kernel_features_shop.orders"].ran == ["orders.sweep", "hook"]
    assert len(registries.HOOKS) == 1  # loaded once: the modules' registrations ran once


@pytest.mark.parametrize("first", ["handlers", "run_job", "names", "hooks"])
def test_the_first_read_alone_loads_the_features(shop: Path, first: str) -> None:
    write(shop, {"orders": "", "prices": ""})
    features = Features(PACKAGE, ["orders", "prices"])
    subscriptions, defaults, hooks = Subscriptions(features), Defaults(features), Hooks[object](features)

    def unknown_job() -> None:
        with pytest.raises(ValueError, match="unknown job"):
            subscriptions.run_job({"job": "unknown"})

    reads = {
        "handlers": subscriptions.handlers,
        "run_job": unknown_job,
        "names": lambda: defaults.names,
        "hooks": lambda: list(hooks),
    }
    assert f"{PACKAGE}.orders" not in sys.modules
    reads[first]()
    assert {f"{PACKAGE}.orders", f"{PACKAGE}.prices"} <= set(sys.modules)


def test_a_read_while_loading_sees_what_is_registered_so_far(shop: Path) -> None:
    write(
        shop,
        {
            "registries": (
                "from shared.features import Features\n"
                "from shared.service import Defaults\n"
                f"FEATURES = Features({PACKAGE!r}, ['first', 'second'])\n"
                "DEFAULTS = Defaults(FEATURES)\n"
            ),
            "first": (
                "from kernel_features_shop.registries import DEFAULTS\n"
                "DEFAULTS.register('first', dict)\n"
                "SEEN = sorted(DEFAULTS.names)\n"  # a read during the load: no second load, no recursion
            ),
            "second": "from kernel_features_shop.registries import DEFAULTS\nDEFAULTS.register('second', dict)\n",
        },
    )
    from kernel_features_shop import registries

    assert registries.DEFAULTS.names == {"first", "second"}
    assert sys.modules["kernel_features_shop.first"].SEEN == ["first"]


def test_a_missing_feature_module_fails_the_read_and_the_next_one(shop: Path) -> None:
    write(shop, {"orders": ""})
    features = Features(PACKAGE, ["orders", "gone"])
    for _ in range(2):  # not marked loaded after a failure
        with pytest.raises(ModuleNotFoundError):
            features.load()


def test_a_batch_loads_only_the_modules_of_its_event_types(shop: Path) -> None:
    write(
        shop,
        {
            "registries": (
                "from shared.features import Features\n"
                "from shared.subscriptions import Subscriptions\n"
                f"FEATURES = Features({PACKAGE!r}, events={{'orders': ['order.placed'], 'stock': ['stock.low']}})\n"
                "SUBSCRIPTIONS = Subscriptions(FEATURES)\n"
            ),
            "orders": (
                "from kernel_features_shop.registries import SUBSCRIPTIONS\n"
                "@SUBSCRIPTIONS.subscribe('order.placed')\n"
                "def placed(envelope, uow): pass\n"
            ),
            "stock": (
                "from kernel_features_shop.registries import SUBSCRIPTIONS\n"
                "@SUBSCRIPTIONS.subscribe('stock.low')\n"
                "def low(envelope, uow): pass\n"
            ),
        },
    )
    from kernel_features_shop import registries

    assert list(registries.SUBSCRIPTIONS.handlers({"order.placed", "unknown"})) == ["order.placed"]
    assert "kernel_features_shop.orders" in sys.modules and "kernel_features_shop.stock" not in sys.modules
    assert sorted(registries.SUBSCRIPTIONS.handlers()) == ["order.placed", "stock.low"]  # no types: every module


def test_the_event_types_of_a_batch() -> None:
    from shared.entry import event_types

    bodies = ['{"detail": {"type": "email.sent"}}', "not json", '{"detail": "x"}', '{"detail": {"type": "sms.sent"}}']
    assert event_types({"Records": [{"body": b} for b in bodies]}) == {"email.sent", "sms.sent"}
