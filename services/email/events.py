"""Events the email service publishes, registered once in the catalogue.

`email.sent`, `email.send_requested` and the outcome of each mail (delivered, bounced, rejected,
failed ...) are contracts with other services and live in `shared/contracts/messaging.py`; what no
other service reads is registered here.
"""

from datetime import datetime

from pydantic import BaseModel, Field

import shared.contracts.audience  # registers audience.requested / audience.page
import shared.contracts.messaging  # noqa: F401  (email.sent / email.send_requested / the feedback events)
from shared.events import catalogue

PRODUCER = "email"


class EmailUnsubscribed(BaseModel):
    contact_id: str | None = None
    address: str
    list_type_id: str
    at: datetime
    message_id: str | None = Field(None, description="The mail whose link the recipient used, if one did")
    campaign_id: str | None = Field(None, description="That mail's campaign")


catalogue.register(
    "email.unsubscribed", EmailUnsubscribed, producer=PRODUCER, description="A recipient opted out of a list type."
)


class EmailResubscribed(BaseModel):
    contact_id: str | None = None
    address: str
    list_type_id: str
    at: datetime


catalogue.register(
    "email.resubscribed",
    EmailResubscribed,
    producer=PRODUCER,
    description="A recipient's opt-out of a list type was removed (by a user, or through a mail's own link).",
)


# The email service's own records, for the audit trail and webhooks: each payload names the record
# and a few key fields (never a template's bodies, never a password); an update's fields old -> new
# are in the envelope's `changes`.


class TemplateChanged(BaseModel):
    id: str
    name: str
    subject: str = Field(description="The subject's template (cut to 200 characters)")


class CampaignChanged(BaseModel):
    id: str
    name: str
    status: str = Field(description="The stored status: draft, scheduled, sending, paused, cancelled or failed")
    template_id: str
    list_type_id: str
    target_group_id: str | None = None
    send_at: str | None = Field(None, description="The time it is scheduled for, if it is")


class ListTypeChanged(BaseModel):
    id: str
    name: str


class AutomationChanged(BaseModel):
    id: str
    name: str
    active: bool
    template_id: str
    list_type_id: str
    target_group_id: str


class EmailSettingsChanged(BaseModel):
    from_address: str
    transport: str = Field(description="ses or smtp")
    smtp_host: str | None = Field(None, description="The tenant's SMTP server, with transport smtp")


for event_type, payload, what in (
    ("email_template.created", TemplateChanged, "An email template was created."),
    ("email_template.updated", TemplateChanged, "An email template's name, subject or parts were changed."),
    ("email_template.deleted", TemplateChanged, "An email template was deleted (campaigns keep their copies)."),
    ("email_campaign.created", CampaignChanged, "An email campaign was created as a draft."),
    ("email_campaign.updated", CampaignChanged, "A draft email campaign's fields or attachments were changed."),
    ("email_campaign.deleted", CampaignChanged, "A draft email campaign was deleted."),
    ("email_campaign.scheduled", CampaignChanged, "An email campaign was scheduled (or moved) to send at a time."),
    ("email_campaign.send_started", CampaignChanged, "An email campaign started sending (now, or its time came)."),
    ("email_campaign.paused", CampaignChanged, "A sending email campaign was paused."),
    ("email_campaign.resumed", CampaignChanged, "A paused email campaign was resumed."),
    ("email_campaign.cancelled", CampaignChanged, "An email campaign was cancelled: its queued mails are skipped."),
    ("email_list_type.created", ListTypeChanged, "A list type (an opt-out list) was created."),
    ("email_list_type.updated", ListTypeChanged, "A list type's name or description was changed."),
    ("email_list_type.deleted", ListTypeChanged, "A list type was deleted (its opt-outs stay)."),
    ("email_automation.created", AutomationChanged, "An automatic email was created."),
    ("email_automation.updated", AutomationChanged, "An automatic email's fields, schedule or activity were changed."),
    ("email_automation.deleted", AutomationChanged, "An automatic email was deleted (its campaigns stay)."),
    (
        "email_settings.updated",
        EmailSettingsChanged,
        "The tenant's sending settings (From, Reply-To, transport) were changed; a new SMTP password "
        "shows only as `[secret]`.",
    ),
):
    catalogue.register(event_type, payload, producer=PRODUCER, description=what)
