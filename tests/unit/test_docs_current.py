"""The checked-in generated docs (docs/events.md, docs/openapi/*.json) match the code."""

from pathlib import Path

import pytest

from infra import docs

pytestmark = pytest.mark.disable_socket

ROOT = Path(__file__).resolve().parents[2]
RENDERED = docs.rendered()  # once: rendering imports and documents every service


@pytest.mark.parametrize("path", sorted(RENDERED), ids=str)
def test_checked_in_copy_is_current(path: Path) -> None:
    checked_in = ROOT / path
    assert checked_in.is_file(), f"{path} is missing: run `make docs`"
    assert checked_in.read_text(encoding="utf-8") == RENDERED[path], f"{path} is stale: run `make docs`"


def test_no_leftover_openapi_files() -> None:
    assert docs.stale(ROOT) == [], "generated docs are stale: run `make docs`"


def test_every_event_type_is_documented() -> None:
    text = (ROOT / docs.EVENTS_MD).read_text(encoding="utf-8")
    for spec in docs.load_catalogue():
        assert f"### {spec.event_type}\n" in text


def test_openapi_is_sorted_json_with_bearer_auth() -> None:
    import json

    for service in docs.api_services():
        document = json.loads(docs.render_openapi(service))
        assert document["security"] == [{"bearer": []}]
        assert list(document) == sorted(document)


def test_write_all_then_check(tmp_path: Path) -> None:
    (tmp_path / docs.OPENAPI_DIR).mkdir(parents=True)
    (tmp_path / docs.OPENAPI_DIR / "gone.json").write_text("{}")
    assert set(docs.stale(tmp_path)) == {*docs.rendered(), docs.OPENAPI_DIR / "gone.json"}
    docs.write_all(tmp_path)
    assert docs.stale(tmp_path) == []
    assert docs.write_all(tmp_path) == []
