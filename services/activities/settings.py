"""The activities functions' settings, read once at cold start."""

from shared.settings import TableSettings


class ActivitiesSettings(TableSettings):
    files_bucket: str = ""
    jobs_queue_arn: str = ""
    scheduler_role_arn: str = ""
    schedule_group: str = "default"
