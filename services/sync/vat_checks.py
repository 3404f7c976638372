"""VAT ids confirmed with the EU VIES service: one customer on demand, and the nightly re-check of stale answers.

Why recorded on the customer: reverse charge needs a buyer VAT id that its member state confirms; a checksum alone
(python-stdnum, checked when the id is entered) does not say the company is registered. The answer (valid, invalid,
or unavailable when VIES or the member state did not answer) and its time are stored with the customer and audited.
``invalid`` makes the customer's lines standard-rated at the next build (``rating.vat``); ``unavailable`` changes
nothing and is asked again the next night.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import or_, select

from config import Settings
from connectors.vies import UNAVAILABLE, VatCheck, ViesClient
from ledger.models import Customer, Tenant
from rating.invoicing import EU_MEMBER_STATES
from services.access import Actor, require
from services.clock import Clock
from services.errors import NotConfigured, ValidationFailed
from services.runtime import engine_for
from services.uow import UnitOfWork

log = logging.getLogger(__name__)
Checker = Callable[[str], VatCheck]


@dataclass(frozen=True)
class VatCheckReport:
    checked: int
    valid: int
    invalid: int
    unavailable: int


def vies_checker(settings: Settings) -> Checker:
    """The configured VIES client's ``check``; NotConfigured when ``vies.enabled`` is off."""
    config = settings.vies
    if not config.enabled:
        raise NotConfigured("vies.enabled: VIES checks are off in config.yaml (set vies: {enabled: true})")
    ca_bundle = str((settings.base_dir / config.ca_bundle).resolve()) if config.ca_bundle else None
    return ViesClient(config.wsdl_url, ca_bundle=ca_bundle, timeout=config.timeout_seconds).check


def checkable(customer: Customer) -> str | None:
    """Why VIES cannot be asked about this customer, or None."""
    if not customer.vat_id:
        return "has no VAT id to check"
    if (customer.country or "") not in EU_MEMBER_STATES:
        return f"is in {customer.country or 'no country'}; VIES knows VAT ids of EU member states only"
    return None


def record_check(uow: UnitOfWork, customer: Customer, check: VatCheck, actor: str, at: dt.datetime) -> None:
    """Store VIES's answer on the customer and audit it (with the registered name, or the fault code)."""
    before = {"vat_check_result": customer.vat_check_result,
              "vat_checked_at": customer.vat_checked_at.isoformat() if customer.vat_checked_at else None}
    customer.vat_checked_at, customer.vat_check_result = at, check.result
    uow.audit.record(actor, "customer.vat_check", "customer", customer.id, customer.tenant_id, before=before,
                     after={"vat_check_result": check.result, "vat_checked_at": at.isoformat(),
                            "vat_id": customer.vat_id},
                     detail=f"VIES {check.country_code}{check.vat_number}: {check.result}"
                            + (f" ({check.fault})" if check.fault else "")
                            + (f", registered as {check.name}" if check.name else ""), at=at)


def recheck_vat_ids(settings: Settings, clock: Clock, *, who: Actor,
                    checker: Checker | None = None) -> VatCheckReport:
    """Ask VIES about every EU customer whose VAT id was never confirmed, answered ``unavailable``, or was last
    confirmed more than ``vies.recheck_days`` ago (at most ``vies.max_per_night``, oldest first)."""
    require(who, "sync")
    check = checker or vies_checker(settings)
    now = clock.now()
    stale = now - dt.timedelta(days=settings.vies.recheck_days)
    codes = [t.code for t in settings.tenants if who.can_see(t.code)]
    counts = {"valid": 0, "invalid": 0, UNAVAILABLE: 0}
    with UnitOfWork(engine_for(settings), write=True) as uow:
        due = uow.session.scalars(
            select(Customer).join(Tenant, Tenant.id == Customer.tenant_id)
            .where(Tenant.code.in_(codes), Customer.vat_id.is_not(None), Customer.country.in_(EU_MEMBER_STATES),
                   or_(Customer.vat_checked_at.is_(None), Customer.vat_checked_at < stale,
                       Customer.vat_check_result == UNAVAILABLE))
            .order_by(Customer.vat_checked_at.is_not(None), Customer.vat_checked_at, Customer.id)
            .limit(settings.vies.max_per_night)).all()
        for customer in due:
            answer = check(customer.vat_id or "")
            record_check(uow, customer, answer, who.username, now)
            counts[answer.result] += 1
    log.info("vies recheck: %s", counts)
    return VatCheckReport(sum(counts.values()), counts["valid"], counts["invalid"], counts[UNAVAILABLE])


def check_one(uow: UnitOfWork, customer: Customer, check: Checker, actor: str, at: dt.datetime) -> VatCheck:
    """Ask VIES about one customer (refused, naming the field, when it has nothing VIES can check)."""
    problem = checkable(customer)
    if problem:
        raise ValidationFailed(f"customer {customer.id} vat_id: {customer.name} {problem}")
    answer = check(customer.vat_id or "")
    record_check(uow, customer, answer, actor, at)
    return answer
