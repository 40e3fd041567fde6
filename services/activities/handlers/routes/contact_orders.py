"""Contact orders [003]: orders, notes, time, bookings, files, assignment, close, convert, lists,
favourites, facilities and the tenant's contact-order settings."""

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.activities import contact_orders
from services.activities.domain.contact_orders import (
    AssigneesReplace,
    Booking,
    BookingCreate,
    BookingUpdate,
    ContactOrder,
    ContactOrderCreate,
    ContactOrderSettings,
    ContactOrderUpdate,
    ConversionResult,
    Facility,
    FacilityCreate,
    Favourite,
    FavouriteCreate,
    Filters,
    Note,
    NoteCreate,
    SettingsUpdate,
    TimeEntryCreate,
)
from services.activities.domain.models import Attachment, AttachmentCreate, AttachmentDownload, AttachmentUpload
from services.activities.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, OptIdQuery, no_content

router = APIGatewayHttpRouter()

OptCodeQuery = Annotated[str | None, Query(pattern=r"^[a-z0-9_-]{1,64}$")]
OptDateQuery = Annotated[date | None, Query()]
OptBoolQuery = Annotated[bool | None, Query()]


# ----------------------------------------------------------------------------- settings, facilities, favourites


@router.get("/contact-orders/settings")
def get_settings() -> ContactOrderSettings:
    return contact_orders.settings(caller(router))


@router.patch("/contact-orders/settings")
def update_settings(body: Annotated[SettingsUpdate, Body()]) -> ContactOrderSettings:
    return contact_orders.update_settings(caller(router), body)


@router.get("/contact-orders/facilities")
def list_facilities(
    cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT, account_id: OptIdQuery = None
) -> Page[Facility]:
    return contact_orders.list_facilities(caller(router), cursor, limit, account_id)


@router.post("/contact-orders/facilities", status_code=201)
def create_facility(body: Annotated[FacilityCreate, Body()]) -> Facility:
    return contact_orders.create_facility(caller(router), body)


@router.get("/contact-orders/favourites")
def list_favourites() -> list[Favourite]:
    return contact_orders.list_favourites(caller(router))


@router.post("/contact-orders/favourites", status_code=201)
def create_favourite(body: Annotated[FavouriteCreate, Body()]) -> Favourite:
    return contact_orders.create_favourite(caller(router), body)


@router.delete("/contact-orders/favourites/<favourite_id>")
def delete_favourite(favourite_id: Id) -> Response[None]:
    contact_orders.delete_favourite(caller(router), favourite_id)
    return no_content()


# ----------------------------------------------------------------------------- orders


@router.post("/contact-orders", status_code=201)
def create_order(body: Annotated[ContactOrderCreate, Body()]) -> ContactOrder:
    return contact_orders.create_order(caller(router), body)


@router.get("/contact-orders")
def list_orders(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    favourite_id: OptIdQuery = None,
    status: OptCodeQuery = None,
    assignee_id: OptIdQuery = None,
    account_id: OptIdQuery = None,
    contact_id: OptIdQuery = None,
    facility_id: OptIdQuery = None,
    closed: OptBoolQuery = None,
    planned_from: OptDateQuery = None,
    planned_to: OptDateQuery = None,
) -> Page[ContactOrder]:
    """Open orders first (by planned date, or running number by tenant setting), closed ones last.

    `favourite_id` lists with a saved favourite's filters (the other filters are then ignored).
    """
    filters = Filters(
        status=status,
        assignee_id=assignee_id,
        account_id=account_id,
        contact_id=contact_id,
        facility_id=facility_id,
        closed=closed,
        planned_from=planned_from,
        planned_to=planned_to,
    )
    return contact_orders.list_orders(caller(router), filters, cursor, limit, favourite_id)


@router.get("/contact-orders/<order_id>")
def get_order(order_id: Id) -> ContactOrder:
    return contact_orders.get_order(caller(router), order_id)


@router.patch("/contact-orders/<order_id>")
def update_order(order_id: Id, body: Annotated[ContactOrderUpdate, Body()]) -> ContactOrder:
    return contact_orders.update_order(caller(router), order_id, body)


@router.delete("/contact-orders/<order_id>")
def delete_order(order_id: Id) -> Response[None]:
    contact_orders.delete_order(caller(router), order_id)
    return no_content()


@router.put("/contact-orders/<order_id>/assignees")
def replace_assignees(order_id: Id, body: Annotated[AssigneesReplace, Body()]) -> ContactOrder:
    return contact_orders.replace_assignees(caller(router), order_id, body)


@router.post("/contact-orders/<order_id>/close")
def close_order(order_id: Id) -> ContactOrder:
    return contact_orders.close_order(caller(router), order_id)


@router.post("/contact-orders/<order_id>/convert")
def convert_order(order_id: Id) -> ConversionResult:
    return contact_orders.convert_order(caller(router), order_id)


# ----------------------------------------------------------------------------- notes and time


@router.post("/contact-orders/<order_id>/notes", status_code=201)
def add_note(order_id: Id, body: Annotated[NoteCreate, Body()]) -> Note:
    return contact_orders.add_note(caller(router), order_id, body)


@router.get("/contact-orders/<order_id>/notes")
def list_notes(order_id: Id, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[Note]:
    return contact_orders.list_notes(caller(router), order_id, cursor, limit)


@router.post("/contact-orders/<order_id>/time-entries", status_code=201)
def add_time(order_id: Id, body: Annotated[TimeEntryCreate, Body()]) -> ContactOrder:
    return contact_orders.add_time(caller(router), order_id, body)


# ----------------------------------------------------------------------------- bookings


@router.post("/contact-orders/<order_id>/bookings", status_code=201)
def add_booking(order_id: Id, body: Annotated[BookingCreate, Body()]) -> Booking:
    return contact_orders.add_booking(caller(router), order_id, body)


@router.get("/contact-orders/<order_id>/bookings")
def list_bookings(order_id: Id) -> list[Booking]:
    return contact_orders.list_bookings(caller(router), order_id)


@router.get("/contact-orders/<order_id>/bookings/<booking_id>")
def get_booking(order_id: Id, booking_id: Id) -> Booking:
    return contact_orders.get_booking(caller(router), order_id, booking_id)


@router.patch("/contact-orders/<order_id>/bookings/<booking_id>")
def update_booking(order_id: Id, booking_id: Id, body: Annotated[BookingUpdate, Body()]) -> Booking:
    return contact_orders.update_booking(caller(router), order_id, booking_id, body)


# ----------------------------------------------------------------------------- files


@router.post("/contact-orders/<order_id>/files", status_code=201)
def start_file(order_id: Id, body: Annotated[AttachmentCreate, Body()]) -> AttachmentUpload:
    return contact_orders.start_file(caller(router), order_id, body)


@router.post("/contact-orders/<order_id>/files/<file_id>/complete")
def complete_file(order_id: Id, file_id: Id) -> Attachment:
    return contact_orders.complete_file(caller(router), order_id, file_id)


@router.get("/contact-orders/<order_id>/files/<file_id>")
def download_file(order_id: Id, file_id: Id) -> AttachmentDownload:
    return contact_orders.download_file(caller(router), order_id, file_id)


@router.delete("/contact-orders/<order_id>/files/<file_id>")
def delete_file(order_id: Id, file_id: Id) -> Response[None]:
    contact_orders.delete_file(caller(router), order_id, file_id)
    return no_content()
