"""Runs the jobs that schedules put on the sms jobs queue: scheduled sends and the minute sweep of
held and unanswered messages."""

from services.sms.settings import SmsSettings
from services.sms.subscriptions import run_job
from shared.entry import jobs_entry

handler = jobs_entry(SmsSettings, run_job)
