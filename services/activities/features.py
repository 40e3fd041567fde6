"""Every feature module of the activities service, imported once by each handler.

Features register hooks on activity changes (call list, points, calendar tombstones, erasure)
and subscriptions to events and jobs at import. Every process that changes activities must
run all the hooks, so every handler imports this one module rather than a chosen few.
"""

from services.activities import (  # noqa: F401  (imported for their registrations)
    activities,
    admin,
    calendar,
    erasure,
    goals,
    marketing,
    mass,
    order_erasure,
    order_settings,
    points,
    reminders,
    sales_targets,
    todo,
)
from services.activities.call_list import index, latest  # noqa: F401  (the call list's subscriptions and hooks)
