"""The routers of the email API, one per feature, mounted by `handlers/api.py` in this order."""

from services.email.handlers.routes import (
    automations,
    campaigns,
    list_types,
    messages,
    public,
    settings,
    templates,
    tracking,
)

ROUTERS = (
    automations.router,
    campaigns.router,
    list_types.router,
    messages.router,
    public.router,
    settings.router,
    templates.router,
    tracking.router,
)
