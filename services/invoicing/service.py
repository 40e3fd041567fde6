"""The invoicing service's caller context, tenant defaults (`register_default`) and permissions.

Who may do what (the kernel's one check, `shared/permissions.py`, with this service's `POLICY`):
- the catalogue (products, tax classes, price lists) is read by every user of the tenant and
  written by managers and admins (it prices every order);
- a customer (the directory account's billing data) is seen as the account is: its owner's, their
  groups', every one for managers and admins;
- a sales order has an owner (a user or a group; its creator by default): users see and change
  their own and their groups' orders, delete only their own; managers and admins every order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.invoicing.features import FEATURES
from services.invoicing.store import InvoicingStore
from shared import permissions
from shared import service as kernel
from shared.auth import Role
from shared.errors import Forbidden
from shared.permissions import Action, Policy, Subject
from shared.service import Caller as _Caller
from shared.service import Defaults
from shared.types import Owner

DEFAULTS = Defaults(FEATURES)  # the defaults the feature modules register, loaded on first read
register_default = DEFAULTS.register

PRODUCTS, TAX_CLASSES, PRICE_LISTS, SALES_ORDERS = "products", "tax_classes", "price_lists", "sales_orders"
INVOICES, RUNS = "invoices", "invoicing_runs"  # managers and admins (every customer's money); runs: admins
CUSTOMERS = "customers"  # the accounts' billing projection: seen by the account's owner rule
CATALOGUE = (PRODUCTS, TAX_CLASSES, PRICE_LISTS)
MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})
POLICY = Policy(
    open_resources=frozenset(CATALOGUE),
    roles={
        (resource, action): MANAGERS
        for resource in CATALOGUE
        for action in (Action.CREATE, Action.CHANGE, Action.DELETE)
    }
    | {(resource, action): MANAGERS for resource in (INVOICES, RUNS) for action in Action},
)


@dataclass
class Caller(_Caller):
    """The caller of one invoicing request, with this service's store and tenant defaults."""

    store: InvoicingStore = field(default_factory=InvoicingStore)
    defaults: Defaults = field(default=DEFAULTS)

    @property
    def subject(self) -> Subject:
        return Subject.of(self.auth)

    def allows(self, action: Action, resource: str, owner: Owner | None = None) -> bool:
        return permissions.allows(self.subject, action, resource, owner, POLICY)

    def require(self, action: Action, resource: str, owner: Owner | None = None) -> None:
        if not self.allows(action, resource, owner):
            what = resource.replace("_", " ")
            raise Forbidden(
                f"Only a manager or an admin may {action.value} {what}."
                if resource in CATALOGUE
                else f"You may not {action.value} this {what[:-1]}."
            )

    def may_give_to(self, owner: Owner) -> bool:
        return permissions.may_give_to(self.subject, owner, POLICY)

    def visible_owners(self, resource: str) -> set[str] | None:
        return permissions.visible_owners(self.subject, resource, POLICY)


def service_caller(tenant_id: str, service: str = "invoicing", *, open_tenant: bool = True) -> Caller:
    """A caller for work this service does for a tenant (consumers, jobs): an admin of that tenant."""
    return kernel.service_caller(Caller, tenant_id, service, open_tenant=open_tenant)
