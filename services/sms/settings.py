"""The sms functions' settings, read once at cold start (template.yaml sets them)."""

from shared.settings import TableSettings


class SmsSettings(TableSettings):
    send_queue_url: str = ""  # the send queue: messages accepted for the sender
