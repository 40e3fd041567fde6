"""The directory functions' settings, read once at cold start."""

from shared.settings import TableSettings


class DirectorySettings(TableSettings):
    imports_bucket: str = ""
