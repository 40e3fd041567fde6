"""The sms functions' settings, read once at cold start (template.yaml sets them)."""

from shared.settings import TableSettings


class SmsSettings(TableSettings):
    send_queue_url: str = ""  # the send queue: messages accepted for the sender
    configuration_set: str = ""  # the sender's: every message names it (delivery events)
    proof_window_seconds: float = 300.0  # a claimed message waits this long for its receipt before it is sent again
