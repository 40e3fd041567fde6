"""The tenant's duplicate-matching rules (issue 24): one kernel setting per entity
(`service.duplicate_rules_setting`), read by any user and replaced by admins, with the settings
routes' ETag and If-Match; a read shows the state of the last re-key of phone keys, a change of
`default_country` starts one (duplicate_rekeys.py).

Apart from duplicate_checks.py: a create's check reads the rules through `Caller.duplicate_rules`
only, so the contacts, accounts and imports do not load the re-key job and the scan module it
queues with (docs/decisions.md, "Cold start").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError

from services.directory import duplicate_rekeys
from services.directory.matching.fields import Entity
from services.directory.matching.rules import AccountRules, ContactRules, MatchingRules, parse_rules
from services.directory.service import Caller, duplicate_rules_setting
from shared.errors import ValidationFailed, field_errors_from_pydantic
from shared.store import UnitOfWork

REKEY = (
    "The last re-key of the existing records' phone numbers after a change of `default_country` "
    "(absent when it never changed): until it is `completed`, a create's check may miss an existing "
    "record by a number stored without a country code (its email and name still find it)"
)


class ContactRulesRead(ContactRules):
    """A contact's rules, with the state of their last re-key."""

    rekey: duplicate_rekeys.Rekey | None = Field(None, description=REKEY)


class AccountRulesRead(AccountRules):
    """An account's rules, with the state of their last re-key."""

    rekey: duplicate_rekeys.Rekey | None = Field(None, description=REKEY)


READ_MODELS: dict[str, type[MatchingRules]] = {"contacts": ContactRulesRead, "accounts": AccountRulesRead}


def _read(caller: Caller, entity: Entity, rules: MatchingRules) -> MatchingRules:
    rekey = duplicate_rekeys.latest(caller, entity)
    # constructed, not validated again: the rules were (a defaulted `min_matched_fields` is not checked)
    return READ_MODELS[entity].model_construct(**dict(rules), rekey=rekey)


def get_rules(caller: Caller, entity: Entity) -> MatchingRules:
    caller.address_setting(duplicate_rules_setting(entity))
    return _read(caller, entity, caller.duplicate_rules(entity))


def replace_rules(caller: Caller, entity: Entity, body: Mapping[str, Any]) -> MatchingRules:
    """Replace the rules (admins). A change of `default_country` keys the phone numbers of records
    written from now on and starts a re-key of the existing records' (duplicate_rekeys.py)."""
    caller.require_admin()
    caller.address_setting(duplicate_rules_setting(entity))
    if body.get("entity") not in (None, entity):
        raise ValidationFailed.on("entity", f"These are the rules of {entity}.", "not_path_entity")
    try:
        rules = parse_rules(entity, {**body, "entity": entity})
    except ValidationError as error:
        raise ValidationFailed(
            "The matching rules are not valid.", field_errors_from_pydantic(error.errors())
        ) from None
    before = caller.duplicate_rules(entity).default_country
    uow = UnitOfWork()  # the rules and the start of their re-key commit together
    caller.stage_setting(uow, duplicate_rules_setting(entity), rules.model_dump(mode="json"))
    generation = duplicate_rekeys.stage_start(caller, uow, entity, before, rules.default_country)
    uow.commit()
    if generation is not None:
        duplicate_rekeys.enqueue(caller.tenant, entity, generation)
    return _read(caller, entity, rules)
