"""The catalogue: products and tax classes. Every user of the tenant reads it; managers and admins write it."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.invoicing import currencies, products, tax_classes
from services.invoicing.domain.catalogue import (
    Currencies,
    CurrenciesUpdate,
    Product,
    ProductCreate,
    ProductUpdate,
    TaxClass,
    TaxClassCreate,
    TaxClassUpdate,
)
from services.invoicing.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import ID_PATTERN, Cursor, Id, Limit, UpdatedSince, no_content

router = APIGatewayHttpRouter()

# Any id-like text: a code the tenant does not have is a 404, as an unknown id is.
TaxCode = Annotated[str, Path(pattern=ID_PATTERN, description="A tax class's code")]


@router.get("/products")
def list_products(
    cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT, updated_since: UpdatedSince = None
) -> Page[Product]:
    return products.list_products(caller(router), cursor, limit, updated_since)


@router.post("/products", status_code=201)
def create_product(body: Annotated[ProductCreate, Body()]) -> Product:
    return products.create_product(caller(router), body)


@router.get("/products/<product_id>")
def get_product(product_id: Id) -> Product:
    return products.get_product(caller(router), product_id)


@router.patch("/products/<product_id>")
def update_product(product_id: Id, body: Annotated[ProductUpdate, Body()]) -> Product:
    return products.update_product(caller(router), product_id, body)


@router.delete("/products/<product_id>")
def delete_product(product_id: Id) -> Response[None]:
    products.delete_product(caller(router), product_id)
    return no_content()


@router.get("/tax-classes")
def list_tax_classes() -> list[TaxClass]:
    return tax_classes.list_tax_classes(caller(router))


@router.post("/tax-classes", status_code=201)
def create_tax_class(body: Annotated[TaxClassCreate, Body()]) -> TaxClass:
    return tax_classes.create_tax_class(caller(router, tax_classes.SETTING), body)


@router.get("/tax-classes/<code>")
def get_tax_class(code: TaxCode) -> TaxClass:
    return tax_classes.get_tax_class(caller(router), code)


@router.patch("/tax-classes/<code>")
def update_tax_class(code: TaxCode, body: Annotated[TaxClassUpdate, Body()]) -> TaxClass:
    return tax_classes.update_tax_class(caller(router, tax_classes.SETTING), code, body)


@router.get("/invoicing/currencies")
def get_currencies() -> Currencies:
    return currencies.get_currencies(caller(router, currencies.SETTING))


@router.put("/invoicing/currencies")
def replace_currencies(body: Annotated[CurrenciesUpdate, Body()]) -> Currencies:
    return currencies.replace_currencies(caller(router, currencies.SETTING), body)
