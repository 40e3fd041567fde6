"""The scanner functions' settings, read once at cold start (template.yaml sets them)."""

from shared.settings import TableSettings


class ScannerSettings(TableSettings):
    mail_bucket: str = ""  # raw mail (inbound/) and the articles' attachments (attachments/)
