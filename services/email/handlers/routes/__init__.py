"""The routers of the email API, one per feature, mounted by `handlers/api.py` in this order."""

from services.email.handlers.routes import (
    automations,
    campaign_files,
    campaign_launch,
    campaign_recipients,
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
    campaign_files.router,
    campaign_launch.router,
    campaign_recipients.router,
    campaigns.router,
    list_types.router,
    messages.router,
    public.router,
    settings.router,
    templates.router,
    tracking.router,
)
