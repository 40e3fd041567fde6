"""The scanner functions' settings, read once at cold start (template.yaml sets them)."""

from shared.settings import TableSettings


class ScannerSettings(TableSettings):
    mail_bucket: str = ""  # raw mail (inbound/) and the articles' attachments (attachments/)
    email_files_bucket: str = ""  # where a reply's attachments are copied for the email service (requests/)
