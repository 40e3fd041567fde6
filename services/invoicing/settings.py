"""The invoicing functions' settings, read once at cold start (template.yaml sets them)."""

from shared.settings import TableSettings


class InvoicingSettings(TableSettings):
    documents_bucket: str = ""  # issued invoices' PDF and Finvoice files (documents.py)
    email_files_bucket: str = ""  # where a mailed invoice's PDF is copied for the email service (requests/)
    jobs_queue_url: str = ""  # a billing run's chunks go there, one message each (billing_runs.py)
    run_chunk_orders: int = 100  # sales orders per chunk of a billing run: one job message's work
