"""The email functions' settings, read once at cold start."""

from shared.settings import TableSettings


class EmailSettings(TableSettings):
    send_queue_url: str = ""
    files_bucket: str = ""
    jobs_queue_arn: str = ""
    scheduler_role_arn: str = ""
    schedule_group: str = "default"
    configuration_set: str = ""
