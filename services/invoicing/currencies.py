"""The tenant's currencies: which ISO 4217 currencies its orders and invoices may use.

Seed 002 "Valuuttojen määrittäminen": the euro is the default and cannot be removed; others are
added and removed by the tenant. One tenant setting `{"codes": [...]}` (a new tenant: EUR only,
installed by `register_default` as every default). An order's currency must be one of them (422
`not_found` naming `currency`); an order keeps its currency when the list changes.
"""

from __future__ import annotations

from services.invoicing.domain.catalogue import DEFAULT_CURRENCY, Currencies, CurrenciesUpdate
from services.invoicing.service import PRICE_LISTS, Caller, register_default
from shared.errors import ValidationFailed
from shared.permissions import Action

SETTING = "currencies"

register_default(SETTING, lambda: {"codes": [DEFAULT_CURRENCY]})


def get_currencies(caller: Caller) -> Currencies:
    return Currencies(codes=list(caller.setting(SETTING)["codes"]))


def replace_currencies(caller: Caller, body: CurrenciesUpdate) -> Currencies:
    caller.require(Action.CHANGE, PRICE_LISTS)  # the catalogue's writers: managers and admins
    caller.save_setting(SETTING, {"codes": list(body.codes)})
    return get_currencies(caller)


def usable(caller: Caller, code: str, field: str = "currency") -> None:
    if code not in caller.setting(SETTING)["codes"]:
        raise ValidationFailed.on(
            field, f"{code} is not one of the tenant's currencies (/invoicing/currencies).", "not_found"
        )
