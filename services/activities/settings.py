"""The activities functions' settings, read once at cold start."""

from shared.settings import TableSettings


class ActivitiesSettings(TableSettings):
    files_bucket: str = ""
