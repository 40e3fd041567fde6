"""Every feature module of the email service, imported once by each handler (for their registrations)."""

from services.email import (
    automations,  # noqa: F401
    campaign_launch,  # noqa: F401
    campaign_recipients,  # noqa: F401
    events,  # noqa: F401
    feedback,  # noqa: F401
    list_types,  # noqa: F401
    templates,  # noqa: F401
    tracking,  # noqa: F401
    transactional,  # noqa: F401
)
