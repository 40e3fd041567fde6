"""Runs the jobs that schedules put on the activities jobs queue (reminder sweeps, scheduled mass activities)."""

from services.activities.settings import ActivitiesSettings
from services.activities.subscriptions import run_job
from shared.entry import jobs_entry

handler = jobs_entry(ActivitiesSettings, run_job)
