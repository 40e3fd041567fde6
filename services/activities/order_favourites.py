"""Contact orders [003]: a user's saved list filters (favourites).

Items under `T#<t>#CO_FAVOURITES#<user>`, sk `FAV#<id>`: a user reads only their own.
"""

from __future__ import annotations

from services.activities.domain.order_favourites import MAX_FAVOURITES, Favourite, FavouriteCreate
from services.activities.domain.order_settings import require_any_view
from services.activities.order_settings import permissions
from services.activities.service import Caller
from services.activities.store import Record, clean
from shared import clock
from shared.errors import Conflict, NotFound
from shared.ids import new_id
from shared.store import UnitOfWork, tenant_key

FAVOURITE_PREFIX = "FAV#"


def _favourites_key(caller: Caller) -> str:
    return tenant_key(caller.tenant, "CO_FAVOURITES", caller.user_id)


def create_favourite(caller: Caller, body: FavouriteCreate) -> Favourite:
    require_any_view(permissions(caller))
    existing = list(Record.query(_favourites_key(caller), Record.sk.startswith(FAVOURITE_PREFIX), limit=MAX_FAVOURITES))
    if len(existing) >= MAX_FAVOURITES:
        raise Conflict(f"A user keeps at most {MAX_FAVOURITES} favourites.")
    favourite = Favourite(
        id=new_id(), name=body.name, filters=body.filters, user_id=caller.user_id, created_at=clock.now()
    )
    item = Record(
        pk=_favourites_key(caller),
        sk=f"{FAVOURITE_PREFIX}{favourite.id}",
        kind="co_favourite",
        fields=clean(favourite.model_dump(mode="json")),
    )
    uow = UnitOfWork()
    uow.save(item, condition=Record.pk.does_not_exist())
    uow.commit()
    return favourite


def list_favourites(caller: Caller) -> list[Favourite]:
    require_any_view(permissions(caller))
    records = Record.query(_favourites_key(caller), Record.sk.startswith(FAVOURITE_PREFIX), consistent_read=True)
    return [Favourite.model_validate(r.data) for r in records]


def _favourite_record(caller: Caller, favourite_id: str) -> Record:
    require_any_view(permissions(caller))
    try:
        return Record.get(_favourites_key(caller), f"{FAVOURITE_PREFIX}{favourite_id}", consistent_read=True)
    except Record.DoesNotExist:
        raise NotFound(f"No favourite {favourite_id}.") from None


def get_favourite(caller: Caller, favourite_id: str) -> Favourite:
    return Favourite.model_validate(_favourite_record(caller, favourite_id).data)


def delete_favourite(caller: Caller, favourite_id: str) -> None:
    record = _favourite_record(caller, favourite_id)
    uow = UnitOfWork()
    uow.delete(record)
    uow.commit()
