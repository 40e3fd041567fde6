"""Contact orders [003]: bookings of the next contact."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.activities import order_bookings
from services.activities.domain.order_bookings import Booking, BookingCreate, BookingUpdate
from services.activities.handlers.common import caller
from shared.routes import Id

router = APIGatewayHttpRouter()


@router.post("/contact-orders/<order_id>/bookings", status_code=201)
def add_booking(order_id: Id, body: Annotated[BookingCreate, Body()]) -> Booking:
    return order_bookings.add_booking(caller(router), order_id, body)


@router.get("/contact-orders/<order_id>/bookings")
def list_bookings(order_id: Id) -> list[Booking]:
    return order_bookings.list_bookings(caller(router), order_id)


@router.get("/contact-orders/<order_id>/bookings/<booking_id>")
def get_booking(order_id: Id, booking_id: Id) -> Booking:
    return order_bookings.get_booking(caller(router), order_id, booking_id)


@router.patch("/contact-orders/<order_id>/bookings/<booking_id>")
def update_booking(order_id: Id, booking_id: Id, body: Annotated[BookingUpdate, Body()]) -> Booking:
    return order_bookings.update_booking(caller(router), order_id, booking_id, body)
