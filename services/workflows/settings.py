"""The workflows functions' settings, read once at cold start (template.yaml sets them)."""

from shared.settings import TableSettings


class WorkflowsSettings(TableSettings):
    pass
