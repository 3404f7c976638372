"""The partner's invoices (``GET /v1/invoices``) and which reconciliation API serves a billing period.

Why a module of its own: both the v1 REST routes (``service.py``) and the Graph v2 export (``graph.py``) must agree on
which invoices exist at the sandbox clock and on Microsoft's cut-over between the two APIs.

The cut-over, as Microsoft's "Get invoice line items" page states it
(https://learn.microsoft.com/partner-center/developer/get-invoiceline-items, "Key migration dates and scenarios"):
billing periods before February 2024 are served by v1 only; periods from February 2024 were served by v1 until
21 April 2025 and by the v2 export only after that. The v2 export covers new-commerce periods from February 2024 and
answers ``5000`` "No data available" for anything else (a partner's report of the same for legacy invoices:
https://techcommunity.microsoft.com/discussions/partnershelpingpartnerstechtopics/billed-invoice-reconciliation-api-v2-legacy-support/4403389).
What v1 answers for a period it no longer serves is not documented; the sandbox answers an empty collection (no
data, like v2's answer for periods it does not hold), so a client that still reads v1 silently gets nothing and a
test of its totals fails.

An invoice for month M is issued on the 7th of M+1 at 00:00 UTC (Microsoft: "between the 6th and 8th"). Ids come
from the scenario (``MicrosoftScenario.invoice_id``); the sandbox keeps the last ``INVOICE_MONTHS`` of them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sandbox.scenario_microsoft import MicrosoftScenario, add_months

V2_FIRST_PERIOD = dt.date(2024, 2, 1)
V1_RETIRED_AT = dt.datetime(2025, 4, 21, tzinfo=dt.UTC)
INVOICE_MONTHS = 6
ISSUE_DAY = 7


def v1_serves(period_start: dt.date, now: dt.datetime) -> bool:
    """Whether the v1 line-item routes still answer for the billing period starting ``period_start`` at ``now``."""
    return period_start < V2_FIRST_PERIOD or now < V1_RETIRED_AT


def v2_serves(period_start: dt.date) -> bool:
    """Whether the Graph v2 export holds the billing period starting ``period_start``."""
    return period_start >= V2_FIRST_PERIOD


def period_end(period_start: dt.date) -> dt.date:
    """The inclusive last day of the calendar-month billing period."""
    return add_months(period_start, 1) - dt.timedelta(days=1)


def issued_at(period_start: dt.date) -> dt.datetime:
    return dt.datetime.combine(add_months(period_start, 1).replace(day=ISSUE_DAY), dt.time(0, 0), dt.UTC)


def issued(world: MicrosoftScenario, now: dt.datetime) -> dict[str, dt.date]:
    """Invoice id -> billing period start, for the invoices issued by ``now`` (newest first)."""
    current = now.date().replace(day=1)
    months = (add_months(current, -back) for back in range(1, INVOICE_MONTHS + 1))
    return {world.invoice_id(month): month for month in months if issued_at(month) <= now}


def invoice_json(world: MicrosoftScenario, invoice_id: str, month: dt.date) -> dict[str, Any]:
    """The Invoice resource (https://learn.microsoft.com/partner-center/developer/invoice-resources)."""
    stamp = issued_at(month)
    lines = world.recon_lines(month, period_end(month), stamp)
    total = sum((Decimal(str(line["subtotal"])) for line in lines), Decimal(0))
    uri = f"/invoices/{invoice_id}"
    return {
        "id": invoice_id,
        "invoiceDate": stamp,
        "billingPeriodStartDate": dt.datetime.combine(month, dt.time(0, 0), dt.UTC),
        "billingPeriodEndDate": dt.datetime.combine(period_end(month), dt.time(0, 0), dt.UTC),
        "totalCharges": total,
        "paidAmount": Decimal(0),
        "currencyCode": "EUR",
        "currencySymbol": "€",
        "pdfDownloadLink": "",
        "invoiceDetails": [
            {
                "invoiceLineItemType": "billing_line_items",
                "billingProvider": "one_time",
                "links": {"self": {"uri": f"{uri}/lineitems/OneTime/BillingLineItems", "method": "GET",
                                   "headers": []}},
                "attributes": {"objectType": "InvoiceDetail"},
            }
        ],
        "documentType": "Invoice",
        "amendments": [],
        "invoiceType": "OneTime",
        "links": {"self": {"uri": uri, "method": "GET", "headers": []}},
        "attributes": {"objectType": "Invoice"},
    }
