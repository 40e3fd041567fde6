"""The routers of the sms API, one per feature, mounted by `handlers/api.py` in this order."""

from services.sms.handlers.routes import credits, messages, preview, setup

ROUTERS = (setup.router, credits.router, preview.router, messages.router)
