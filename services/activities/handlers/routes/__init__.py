"""The routers of the activities API, one per feature, mounted by `handlers/api.py` in this order."""

from services.activities.handlers.routes import (
    activities,
    admin,
    calendar,
    call_list,
    contact_orders,
    goals,
    marketing,
    mass,
    settings,
)

ROUTERS = (
    activities.router,
    admin.router,
    call_list.router,
    contact_orders.router,
    goals.router,
    marketing.router,
    mass.router,
    calendar.router,
    settings.router,
)
