"""The routers of the activities API, one per feature, mounted by `handlers/api.py` in this order."""

from services.activities.handlers.routes import (
    activities,
    admin,
    calendar,
    call_list,
    contact_orders,
    facilities,
    goals,
    marketing,
    mass,
    order_bookings,
    order_favourites,
    order_files,
    order_notes,
    order_settings,
    settings,
)

ROUTERS = (
    activities.router,
    admin.router,
    call_list.router,
    order_settings.router,
    facilities.router,
    order_favourites.router,
    contact_orders.router,
    order_notes.router,
    order_bookings.router,
    order_files.router,
    goals.router,
    marketing.router,
    mass.router,
    calendar.router,
    settings.router,
)
