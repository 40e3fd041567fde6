"""The services. `shared` first: its import defers pydantic's model building (shared/__init__.py)."""

import shared  # noqa: F401
