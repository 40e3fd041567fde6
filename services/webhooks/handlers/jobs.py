"""Runs the jobs that schedules put on the webhooks jobs queue: the minute sweep of messages due
for an attempt and of claims that died (services/webhooks/sweep.py)."""

from services.webhooks.settings import WebhooksSettings
from services.webhooks.subscriptions import run_job
from shared.entry import jobs_entry

handler = jobs_entry(WebhooksSettings, run_job)
