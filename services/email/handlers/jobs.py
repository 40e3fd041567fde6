"""Runs the jobs that schedules put on the email jobs queue (scheduled campaigns, automatic emails)."""

from services.email.settings import EmailSettings
from services.email.subscriptions import run_job
from shared.entry import jobs_entry

handler = jobs_entry(EmailSettings, run_job)
