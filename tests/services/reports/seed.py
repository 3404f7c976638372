"""A reported month: the web desk's seeded ledger (tests/web/seed.py) with October approved for nl-bv and the
vendors' cost lines written as the nightly sync writes them (Partner Center reconciliation, a Pax8 invoice).

The cost lines are chosen so each report has something to show: Contoso's October costs more than it was billed
(negative margin), a Partner Center charge for a subscription nobody billed (leakage), and Fabrikam's line with no
vendor charge behind it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from config import Settings
from ledger.models import CostLine
from services.batches import approve_batch
from services.clock import FixedClock
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.web.seed import MONTH, Seeded, seed_month

CONTOSO_COST = Decimal("500.00")  # billed 12 seats of E3 in October for less than this
UNBILLED_COST = Decimal("77.70")  # a Pax8 charge on Müller's subscription: de-gmbh's October is not approved
LEAKED_COST = Decimal("33.30")  # a Partner Center charge in September on Contoso, never billed


def seed_reports(settings: Settings) -> Seeded:
    seeded = seed_month(settings)
    approve_batch(settings, "nl-bv", MONTH, actor(settings, "anna"),
                  FixedClock(dt.datetime(2026, 11, 3, 9, 0, tzinfo=dt.UTC)))
    with UnitOfWork(engine_for(settings), write=True) as uow:
        nl = uow.tenants.by_code("nl-bv")
        de = uow.tenants.by_code("de-gmbh")
        uow.session.add_all([
            cost_line(nl.id, seeded.nl_subscription, "partner-center", "pc-1", dt.date(2026, 10, 10),
                  dt.date(2026, 11, 9), CONTOSO_COST),
            cost_line(nl.id, seeded.nl_subscription, "partner-center", "pc-2", dt.date(2026, 9, 2),
                  dt.date(2026, 9, 2), LEAKED_COST, charge_type="addQuantity"),
            cost_line(de.id, seeded.de_subscription, "pax8", "px-1", dt.date(2026, 10, 1), dt.date(2026, 10, 31),
                  UNBILLED_COST),
        ])
    return seeded


def cost_line(tenant_id: int, subscription_id: int, source: str, line_id: str, first: dt.date, last: dt.date,
          subtotal: Decimal, charge_type: str = "cycleCharge") -> CostLine:
    return CostLine(tenant_id=tenant_id, subscription_id=subscription_id, source=source, line_id=line_id,
                    customer_external_id="cust", subscription_external_id="sub", product_id="CFQ7TTC0LF8Q",
                    charge_type=charge_type, charge_start=first, charge_end=last, quantity=Decimal(1),
                    unit_price=subtotal, subtotal=subtotal, currency="EUR", raw={})
