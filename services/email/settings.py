"""The email functions' settings, read once at cold start."""

from shared.settings import TableSettings


class EmailSettings(TableSettings):
    send_queue_url: str = ""
