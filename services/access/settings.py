"""The access functions' settings, read once at cold start (template.yaml sets them)."""

from shared.settings import TableSettings


class AccessSettings(TableSettings):
    pass
