"""`cspbill customer check-vat` and the desk's "Check with VIES" button: confirm one customer's VAT id now.

Why a desk use case: the person entering a new cross-border customer wants to know at once whether the EU confirms
its VAT id (it decides reverse charge); the nightly re-check (``services.sync.vat_checks``) keeps answers fresh.
"""

from __future__ import annotations

from config import Settings
from services.access import Actor, require
from services.clock import Clock
from services.desk.master_data import CustomerDetail, detail_of, owned_customer
from services.identity import confirm
from services.runtime import engine_for
from services.sync.vat_checks import Checker, check_one, vies_checker
from services.uow import UnitOfWork


def check_vat(settings: Settings, who: Actor, customer_id: int, clock: Clock,
              checker: Checker | None = None) -> CustomerDetail:
    """Ask VIES about the customer's VAT id and record the answer (valid, invalid or unavailable)."""
    require(who, "desk")
    check = checker or vies_checker(settings)
    with UnitOfWork(engine_for(settings), write=True) as uow:
        confirm(uow, who)
        customer, tenant = owned_customer(uow, who, customer_id)
        check_one(uow, customer, check, who.username, clock.now())
        return detail_of(customer, tenant.code)
