"""`kontakt new-service NAME`: a new service in the one shape, from `infra/skeleton/`.

Writes `services/NAME/` (settings, store, caller, events, one feature with its routes and a
consumer subscription), its end-to-end test, and its resources in `template.yaml` (table,
API, outbox publisher, event queue and consumer, logs and alarms; its routes go into the HttpApi's
DefinitionBody, `skeleton/routes.yaml`). The result runs under
`kontakt dev` at once; `tests/infra/test_new_service.py` proves it on a copy of the project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SKELETON = Path(__file__).parent / "skeleton"
NAME = re.compile(r"^[a-z]{2,20}$")
OUTPUTS = "\nOutputs:\n"
# The last line of the HttpApi's paths (template.yaml): a new service's routes go above it.
ROUTES_END = "          # `kontakt new-service` adds a service's routes above this line.\n"


class NewServiceError(Exception):
    pass


@dataclass(frozen=True)
class NewService:
    name: str

    @property
    def title(self) -> str:
        return self.name.capitalize()

    def render(self, text: str) -> str:
        return text.replace("{{Name}}", self.title).replace("{{name}}", self.name)

    def target(self, root: Path, template: Path) -> Path:
        """Where a skeleton file goes: `service/...` under services/NAME, `tests/x` as tests/e2e/NAME/x."""
        relative = template.relative_to(SKELETON).with_suffix("")  # drop .tmpl
        if relative.parts[0] == "service":
            return root / "services" / self.name / Path(*relative.parts[1:])
        return root / "tests" / "e2e" / self.name / Path(*relative.parts[1:])


def create(root: Path, name: str) -> list[Path]:
    """Write the service into the project at `root`; refuse a bad or taken name."""
    if not NAME.match(name):
        raise NewServiceError(f"{name!r}: a service name is 2-20 lower-case letters (it names its table and routes)")
    service = NewService(name)
    template_path = root / "template.yaml"
    template = template_path.read_text(encoding="utf-8")
    folder = root / "services" / name
    if (folder.exists() and not core_only(folder)) or f"  {service.title}Table:" in template:
        raise NewServiceError(f"a service {name} exists already")
    if OUTPUTS not in template:
        raise NewServiceError("template.yaml has no Outputs section to put the new resources before")
    if template.count(ROUTES_END) != 1:
        raise NewServiceError(
            f"template.yaml's HttpApi paths have no end line to put the routes before: {ROUTES_END!r}"
        )
    written = []
    for source in sorted(SKELETON.rglob("*.tmpl")):
        path = service.target(root, source)
        if path.exists():  # a file of a core written before the scaffold (core_only) stays as it is
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(service.render(source.read_text(encoding="utf-8")), encoding="utf-8")
        written.append(path)
    resources = service.render((SKELETON / "template.yaml").read_text(encoding="utf-8"))
    routes = service.render((SKELETON / "routes.yaml").read_text(encoding="utf-8"))
    template = template.replace(ROUTES_END, routes + ROUTES_END, 1)
    template_path.write_text(template.replace(OUTPUTS, "\n" + resources + OUTPUTS, 1), encoding="utf-8")
    written.append(template_path)
    return written


def core_only(folder: Path) -> bool:
    """A service package that holds only its pure core so far (`__init__.py` and `domain/`, as the
    scanner's parser was written before its service): the scaffold joins it and keeps its files."""
    names = {p.name for p in folder.iterdir() if p.name != "__pycache__"}
    return "__init__.py" in names and names <= {"__init__.py", "domain"}


def next_steps(name: str) -> str:
    title = name.capitalize()
    return f"""next:
  - add {title}ApiFunction, {title}PublisherFunction and {title}ConsumerFunction to tests/infra/test_iam.py CASES
    (the calls each may and may not make);
  - make docs (its OpenAPI document and events), then make test;
  - kontakt dev: its API is at /{name}/items, its docs at /{name}/docs."""
