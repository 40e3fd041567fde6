"""Every feature module of the email service, imported once by each handler (for their registrations)."""

from services.email import (
    events,  # noqa: F401
    feedback,  # noqa: F401
    list_types,  # noqa: F401
    templates,  # noqa: F401
    transactional,  # noqa: F401
)
