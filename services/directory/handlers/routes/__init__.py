"""The routers of the directory API, one per feature, mounted by `handlers/api.py` in this order."""

from services.directory.handlers.routes import (
    accounts,
    classes,
    contacts,
    groups,
    imports,
    picklists,
    search,
    settings,
    target_groups,
    users,
)

ROUTERS = (
    accounts.router,
    contacts.router,
    users.router,
    groups.router,
    picklists.router,
    settings.router,
    classes.router,
    target_groups.router,
    imports.router,
    search.router,
)
