"""The email service's caller context, tenant defaults and its part of the permission rules.

Who may do what (the kernel's check, `shared/permissions.py`, with the tenant's `Caller.policy`):
- Templates and campaigns are seen by every user of the tenant (shared work, as in seed 002's
  "Sähköpostipohjat" and "Sähköpostikampanjat"); every role creates them. Their owner is the user
  who created them: changing, deleting, sending, scheduling, pausing, resuming, cancelling and
  adding contacts by hand are for that user, managers and admins. A record a service created
  (an automation's campaign) is for managers and admins.
- A contact's data (recipients lists, mail history, a template preview for a contact) is shown
  only when the caller may see the contact: its owner, from the recipients projection, is the
  caller or one of their groups, or the caller is a manager or an admin (this service does not
  know a manager's team, so managers reach every record here), or the tenant opened contacts to
  every user (the directory's `open_modules`, heard from `tenant.access_changed`). A contact out of
  sight is "not found", the same answer as an unknown one.
- A campaign send reaches only the contacts its sender may see: the audience request carries the
  sender (`ActingUser`) and the directory resolves the group as that user sees it; a group they
  may not see is an unknown group to them (the send fails with "No target group ...").
- List types and sending settings: managers and admins (their own modules).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.email.features import FEATURES
from services.email.store import EmailStore
from shared import service as kernel
from shared.recipients import ACCESS, ContactViewer, access_default
from shared.service import Defaults

DEFAULTS = Defaults(FEATURES)  # the defaults the feature modules register, all loaded on first read
register_default = DEFAULTS.register

DEFAULTS.register(ACCESS, access_default)  # the directory's open modules (shared/recipients.py)


@dataclass
class Caller(ContactViewer):
    """The caller of one email request, with this service's store and tenant defaults."""

    store: EmailStore = field(default_factory=EmailStore)
    defaults: Defaults = field(default=DEFAULTS)


def service_caller(tenant_id: str, service: str = "email", *, open_tenant: bool = True) -> Caller:
    """A caller for work this service does for a tenant (consumers, jobs): an admin of that tenant."""
    return kernel.service_caller(Caller, tenant_id, service, open_tenant=open_tenant)
