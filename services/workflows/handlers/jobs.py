"""Runs the jobs that schedules put on the workflows jobs queue: the minute sweep of delayed runs
(services/workflows/sweep.py)."""

from services.workflows.settings import WorkflowsSettings
from services.workflows.subscriptions import run_job
from shared.entry import jobs_entry

handler = jobs_entry(WorkflowsSettings, run_job)
