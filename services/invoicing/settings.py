"""The invoicing functions' settings, read once at cold start (template.yaml sets them)."""

from shared.settings import TableSettings


class InvoicingSettings(TableSettings):
    documents_bucket: str = ""  # issued invoices' PDF and Finvoice files (documents.py)
    email_files_bucket: str = ""  # where a mailed invoice's PDF is copied for the email service (requests/)
