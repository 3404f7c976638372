"""Partner Center reconciliation for one night: which billing periods to read, and through which API.

Why a module of its own: Microsoft serves recon line items through two APIs split by billing period, and the split
is a rule of its own ("Get invoice line items", https://learn.microsoft.com/partner-center/developer/get-invoiceline-items,
"Key migration dates and scenarios"): periods before February 2024 only through v1 REST (``PartnerCenter``),
periods from February 2024 only through the Graph v2 export (``PartnerBillingExport``) since 21 April 2025. Periods
are discovered from the partner's invoices (``GET /v1/invoices``), never guessed from invoice-id patterns.

A night reads: the current period (unbilled); the last period while its invoice is not issued yet (unbilled,
``last`` in v2, ``previous`` in v1); and every issued invoice whose billing period started within ``billed_months``
months before the current one (billed). A charge read unbilled and later billed, or through v1 and later v2, maps to
the same ``line_id`` (``connectors.recon_lines``), so storing it again updates the cost line instead of adding one.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from connectors.partner_billing_export import PartnerBillingExport
from connectors.partner_center import PartnerCenter
from connectors.records import InvoiceRecord, PullResult

log = logging.getLogger("cspbill.connectors.partner_center")

V2_FIRST_PERIOD = dt.date(2024, 2, 1)


def uses_v2(period_start: dt.date) -> bool:
    """Whether the billing period starting ``period_start`` is read through the v2 export (else v1 REST)."""
    return period_start >= V2_FIRST_PERIOD


def _month_start(day: dt.date, back: int = 0) -> dt.date:
    """The first day of the month ``back`` months before ``day``'s month."""
    months = day.year * 12 + day.month - 1 - back
    return dt.date(months // 12, months % 12 + 1, 1)


@dataclass
class PartnerRecon:
    """The recon lines of one night for a partner billed in ``currency``."""

    center: PartnerCenter
    export: PartnerBillingExport
    currency: str
    billed_months: int = 1

    def read(self, as_of: dt.datetime) -> PullResult:
        current = _month_start(as_of.date())
        last = _month_start(current, 1)
        invoices, errors = self.center.invoices()
        oldest = _month_start(current, self.billed_months)
        billed = [i for i in invoices if oldest <= i.period_start < current]
        results = [self._billed(invoice) for invoice in billed]
        results.append(self._unbilled(current, "current"))
        if self.billed_months < 1 or all(i.period_start != last for i in invoices):
            results.append(self._unbilled(last, "last"))
        return PullResult(
            cost_lines=tuple(line for r in results for line in r.cost_lines),
            errors=(*errors, *(e for r in results for e in r.errors)),
        )

    def _billed(self, invoice: InvoiceRecord) -> PullResult:
        api = "v2" if uses_v2(invoice.period_start) else "v1"
        log.info("%s: invoice %s (%s) through %s", self.center.source, invoice.invoice_id, invoice.period_start, api)
        if api == "v2":
            return self.export.billed(invoice.invoice_id)
        return self.center.billed_line_items(invoice.invoice_id, self.currency)

    def _unbilled(self, period_start: dt.date, period: str) -> PullResult:
        if uses_v2(period_start):
            return self.export.unbilled(self.currency, "current" if period == "current" else "last")
        return self.center.unbilled_line_items(self.currency, "current" if period == "current" else "previous")
