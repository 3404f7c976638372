"""The demo's price book: Microsoft's licence price list for the sandbox catalogue, and a finance price change in the
middle of the month.

Why files: finance gets Microsoft's price list as a CSV from Partner Center and keeps its own rules in a spreadsheet,
so the demo writes the same files into ``DIR/prices`` and imports them through the same use case as
``cspbill prices import``. The rule change on the 15th takes effect from each subscription's next billing period
(the default ``next_cycle`` policy), so October shows both prices.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from config import Settings
from ledger.models import Subscription
from sandbox.scenario_microsoft.subscriptions import CYCLE_MONTHS, PLANS, PRODUCTS
from services.demo.people import DemoPeople
from services.prices import import_file
from services.runtime import engine_for
from services.uow import UnitOfWork

PRICE_DAY = 15  # finance changes prices in the middle of the month
ERP_UPLIFT = Decimal("1.25")  # Microsoft's estimated retail price over the partner price in the demo catalogue
PLAN_NAMES = {"monthly": "Monthly", "annual": "Annual", "triennial": "Triennial"}
# Who imports which market's list and which legal entity's rules (finance of that entity)
FINANCE = {"NL": "finn", "DE": "greta"}
COLUMNS = ("ProductTitle", "ProductId", "SkuId", "SkuTitle", "Publisher", "SkuDescription", "UnitOfMeasure",
           "TermDuration", "BillingPlan", "Market", "Currency", "UnitPrice", "PricingTierRangeMin",
           "PricingTierRangeMax", "EffectiveStartDate", "EffectiveEndDate", "Tags", "ERP Price")


def microsoft_price_list(market: str, currency: str) -> str:
    """Microsoft's new-commerce licence price list (its published columns) for the sandbox products."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for product_id, sku_id, _, title, monthly in PRODUCTS:
        for term, cycle in PLANS:
            price = monthly * CYCLE_MONTHS[cycle]
            writer.writerow((title, product_id, sku_id, title, "Microsoft Corporation", title, "", term,
                             PLAN_NAMES[cycle], market, currency, f"{price:.2f}", "", "", "1/1/2026 0:00",
                             "11/30/9999 23:59", "License", f"{price * ERP_UPLIFT:.2f}"))
    return out.getvalue()


def price_change(month: dt.date, premium: str | None) -> dict[str, str]:
    """Finance's rules CSV of the 15th per legal entity, both from that day: nl-bv sells E3 at Microsoft's ERP price
    minus 5 %; de-gmbh sells the distributor's Business Premium (``premium``, its product id) at a fixed 21.90 EUR."""
    start = month.replace(day=PRICE_DAY).isoformat()
    e3 = PRODUCTS[2]
    files = {"nl-bv": "name,tenant,product,valid_from,markup_percent,basis\n"
                      f"E3 at ERP -5%,nl-bv,{e3[0]}:{e3[1]},{start},-5,erp\n"}
    if premium is not None:
        files["de-gmbh"] = ("name,tenant,product,valid_from,unit_price,currency\n"
                            f"Premium fixed,de-gmbh,{premium},{start},21.90,EUR\n")
    return files


def import_price_lists(settings: Settings, people: DemoPeople, directory: Path,
                       progress: Callable[[str], None]) -> None:
    """Microsoft's list for each legal entity's market, imported by that entity's finance (once per file)."""
    folder = directory / "prices"
    folder.mkdir(exist_ok=True)
    for market in sorted({tenant.country for tenant in settings.tenants} & FINANCE.keys()):
        currency = next(t.currency for t in settings.tenants if t.country == market)
        path = folder / f"nce-licence-price-list-{market}.csv"
        path.write_text(microsoft_price_list(market, currency), encoding="utf-8")
        report = import_file(settings, path, people[FINANCE[market]])
        progress(f"finance: Microsoft price list {market} ({report.rows} rows) is price book edition "
                 f"{report.edition}")


def _product_named(settings: Settings, name: str) -> str | None:
    """The product id the ledger knows a product by (finance picks it from the subscriptions list)."""
    with UnitOfWork(engine_for(settings)) as uow:
        return uow.session.scalar(select(Subscription.product_id).where(Subscription.product_name == name)
                                  .order_by(Subscription.product_id).limit(1))


def change_prices(settings: Settings, people: DemoPeople, directory: Path, month: dt.date,
                  progress: Callable[[str], None]) -> None:
    """Finance's mid-month price change, one rules file per legal entity."""
    known = {tenant.code: tenant.country for tenant in settings.tenants}
    for tenant, text in price_change(month, _product_named(settings, "Microsoft 365 Business Premium")).items():
        if known.get(tenant) not in FINANCE:
            continue
        path = directory / "prices" / f"rules-{tenant}-{month:%Y-%m}-{PRICE_DAY}.csv"
        path.write_text(text, encoding="utf-8")
        report = import_file(settings, path, people[FINANCE[known[tenant]]])
        progress(f"finance: {tenant} price rules from the {PRICE_DAY}th are price book edition {report.edition}")
