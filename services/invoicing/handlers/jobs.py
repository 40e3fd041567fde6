"""Runs the jobs that schedules put on the invoicing jobs queue: the daily billing run
(services/invoicing/billing_runs.py, `invoicing.daily`)."""

from services.invoicing.settings import InvoicingSettings
from services.invoicing.subscriptions import run_job
from shared.entry import jobs_entry

handler = jobs_entry(InvoicingSettings, run_job)
