"""The email functions' settings, read once at cold start."""

from pydantic import Field

from shared.settings import BaseSettings, TableSettings, load

DOMAIN_PATTERN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"  # as template.yaml's SendingDomain
NO_REPLY = "no-reply"


class EmailSettings(TableSettings):
    send_queue_url: str = ""
    files_bucket: str = ""
    configuration_set: str = ""


class SendingSettings(BaseSettings):
    """The stack's sending domain (`SENDING_DOMAIN`, template.yaml's `SendingDomain`, every function has it)."""

    sending_domain: str = Field(pattern=DOMAIN_PATTERN)


def default_from_address() -> str:
    """The From of a tenant that chose none: `no-reply@` the stack's sending domain (an SES identity it owns)."""
    return f"{NO_REPLY}@{load(SendingSettings).sending_domain}"
