"""Reviewing a batch: totals, per-customer figures, the diff against the previous month, open discrepancies, and a
line's lineage, the credit notes and the invoices they correct; plus the paginated queries the web desk lists batches
(numbered pages) and a batch's invoices (pages by invoice key) with.

Read-only, one unit of work per call, tenant-filtered through ``services.access`` (a record of a tenant the user
cannot see answers ``NotFound`` like one that does not exist). Amounts are summed exactly in SQL
(``ledger.repositories.sums``: integer units, never SQLite's float SUM), so a batch of hundreds of thousands of
invoices is reviewed without loading them, and returned as text so JSON and templates show them exactly.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from config import Settings
from config.review import ReviewConfig
from ledger.models import Batch, Invoice, InvoiceLine
from ledger.repositories.review import Change, Per
from rating.money import as_text as money
from rating.review import beyond_threshold, change_percent
from services.access import Actor, owned, readable_tenants, require
from services.batches import prepared
from services.batches.acknowledgements import batch_of, review_findings
from services.batches.credit_notes import CREDIT_NOTE, credit_note_facts, credit_notes_of_batch, is_credit_note
from services.batches.inputs import references
from services.batches.months import parse_month
from services.batches.readiness import batch_findings
from services.errors import NotFound
from services.paging import KeyPage, NumberedPage, page_number, per_page_bounds
from services.runtime import engine_for
from services.uow import UnitOfWork


def _batch_dict(batch: Batch, tenant_code: str) -> dict[str, Any]:
    return {
        "id": batch.id, "tenant": tenant_code, "month": batch.month, "status": batch.status,
        "built_by": batch.built_by, "built_at": batch.built_at.isoformat(), "changed_by": batch.changed_by,
        "changed_at": batch.changed_at.isoformat() if batch.changed_at else None, "approved_by": batch.approved_by,
        "approved_at": batch.approved_at.isoformat() if batch.approved_at else None,
        "rejected_by": batch.rejected_by, "rejection_reason": batch.rejection_reason, "revision": batch.revision,
        "invoices": (batch.totals or {}).get("invoices", 0), "lines": (batch.totals or {}).get("lines", 0),
        "totals": (batch.totals or {}).get("currencies", {}),
    }


def _changes(found: list[Change], thresholds: ReviewConfig | None = None) -> list[dict]:
    """The changed entries with amount, delta and percent; ``flagged`` when beyond ``thresholds`` (if given)."""
    changes = []
    zero = Decimal(0)
    for change in found:
        now, before, currency = change.now, change.before, change.currency
        status = "new" if before is None else "gone" if now is None else "changed"
        changes.append({"id": change.id, "name": change.name, "currency": currency, "status": status,
                        "amount": money(now or zero, currency), "previous": money(before or zero, currency),
                        "delta": money((now or zero) - (before or zero), currency),
                        "percent": _text(change_percent(before or zero, now or zero)),
                        "flagged": thresholds is not None and beyond_threshold(
                            before or zero, now or zero, thresholds.change_threshold_percent,
                            thresholds.change_threshold_amount)})
    return changes


def _diff(uow: UnitOfWork, batch: Batch, previous: Batch | None, per: Per, rows: int | None,
          thresholds: ReviewConfig | None = None) -> tuple[list[dict], int]:
    """The changes per customer or subscription (as the build stored them, or SQL aggregates): all of them by name,
    or the ``rows`` largest."""
    found, total = prepared.changes(uow, batch, previous, per, rows)
    if rows is None:
        found.sort(key=lambda c: (c.name, str((c.id, c.currency))))
    return _changes(found, thresholds), total


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _customers(uow: UnitOfWork, batch_id: int) -> list[dict[str, Any]]:
    return [{"customer_id": t.customer_id, "name": t.name, "currency": t.currency, "invoices": t.invoices,
             **{n: money(getattr(t, n), t.currency) for n in ("net", "vat", "gross")}}
            for t in uow.review.customer_totals(batch_id)]


FINDINGS, CUSTOMER_CHANGES, SUBSCRIPTION_CHANGES = "findings", "customer_changes", "subscription_changes"
SECTIONS = frozenset({FINDINGS, CUSTOMER_CHANGES, SUBSCRIPTION_CHANGES})


def batch_summary(settings: Settings, tenant_code: str, month: str, who: Actor, rows: int | None = None,
                  sections: Collection[str] = SECTIONS) -> dict[str, Any]:
    """Everything finance reviews before approving: totals per currency and VAT rate, per customer, the diff
    against the previous month per customer (flagged beyond the tenant's ``review`` thresholds) and subscription,
    open discrepancies of the batch's subscriptions, and the findings approval weighs (``findings``).

    Figures come from SQL aggregates, never from the batch's lines. ``rows`` is the batch page's cut: each diff list
    holds only the ``rows`` largest changes (``customers_changed`` and ``subscriptions_changed`` count them all),
    and the per-customer totals and credit notes, which the page does not show, are left out. ``sections`` names
    the costly parts to work out (``FINDINGS``: ``blocking`` and ``findings``; ``CUSTOMER_CHANGES``,
    ``SUBSCRIPTION_CHANGES``: the diff's lists and counts), all by default; a tab of the batch page asks only for
    what it shows, and the others come back empty (at 300 k invoices each one costs seconds)."""
    require(who, "finance", tenant_code)
    parse_month(month)
    thresholds = settings.review_for(settings.tenant(tenant_code))
    with UnitOfWork(engine_for(settings)) as uow:
        tenant_id, batch = batch_of(uow, tenant_code, month)
        previous = uow.batches.previous(tenant_id, month)
        customers: list[dict] = []
        subscriptions: list[dict] = []
        customers_changed = subscriptions_changed = 0
        if CUSTOMER_CHANGES in sections:
            customers, customers_changed = _diff(uow, batch, previous, "customer", rows,
                                                 thresholds if previous is not None else None)  # first month: no flags
        if SUBSCRIPTION_CHANGES in sections:
            subscriptions, subscriptions_changed = _diff(uow, batch, previous, "subscription", rows)
        draft = batch.status == "draft"
        master = batch_findings(uow, batch.id) if FINDINGS in sections and draft else []  # read once, shown twice
        discrepancies = [
            {"id": d.id, "subscription_id": d.subscription_id, "kind": d.kind,
             "day": d.day.isoformat() if d.day else None, "sentence": d.sentence}
            for d in uow.review.open_discrepancies(tenant_id, batch.id)
        ]
        return {
            "batch": _batch_dict(batch, tenant_code),
            "problems": (batch.totals or {}).get("problems", []),
            "blocking": [{"customer_id": f.customer_id, "customer": f.customer, "field": f.field,
                          "sentence": f.sentence} for f in master],
            "findings": review_findings(uow, batch, master) if FINDINGS in sections else [],
            "customers": _customers(uow, batch.id) if rows is None else [],
            "diff": {
                "previous_month": previous.month if previous is not None else None,
                "customers": customers, "customers_changed": customers_changed,
                "thresholds": {"percent": str(thresholds.change_threshold_percent),
                               "amount": str(thresholds.change_threshold_amount)},
                "subscriptions": subscriptions, "subscriptions_changed": subscriptions_changed,
            },
            "discrepancies": discrepancies,
            "credit_notes": [{**note, "gross": money(note["gross"], note["currency"])}
                             for note in credit_notes_of_batch(uow, tenant_id, batch.id)] if rows is None else [],
        }


def _line_dict(line: InvoiceLine) -> dict[str, Any]:
    return {
        "id": line.id, "line_key": line.line_key, "base_key": line.base_key, "version": line.version,
        "kind": line.kind, "description": line.description,
        "period_from": line.period_from.isoformat() if line.period_from else None,
        "period_to": line.period_to.isoformat() if line.period_to else None,
        "quantity": str(line.quantity), "unit_price": str(line.unit_price),
        "amount": money(line.amount, line.currency),
        "unrounded": str(line.unrounded), "currency": line.currency, "vat_category": line.vat_category,
        "vat_rate": str(line.vat_rate), "corrects_line_key": line.corrects_line_key,
        "reason_code": line.reason_code, "bill_month": line.bill_month, "lineage": line.lineage,
    }


def _visible(who: Actor, uow: UnitOfWork, tenant_id: int, what: str) -> str:
    codes = {t.id: t.code for t in uow.tenants.all()}
    code = codes.get(tenant_id)
    if code is None or not who.can_see(code):
        raise NotFound(f"{what}: not found")
    return code


def explain_line(settings: Settings, key_or_id: str, who: Actor) -> dict[str, Any]:
    """A line with its lineage (inputs, formula, unrounded amount, rounding), its invoice and batch."""
    require(who, "finance")
    with UnitOfWork(engine_for(settings)) as uow:
        line = uow.invoices.line(key_or_id)
        if line is None:
            raise NotFound(f"invoice line {key_or_id!r}: not found")
        _visible(who, uow, line.tenant_id, f"invoice line {key_or_id!r}")
        invoice: Invoice = line.invoice
        batch = uow.batches.get(invoice.batch_id)
        lineage = line.lineage or {}
        return {**_line_dict(line), "invoice": {"id": invoice.id, "invoice_key": invoice.invoice_key,
                                                 "number": invoice.number, "status": invoice.status},
                "batch": {"id": batch.id, "month": batch.month, "status": batch.status},
                "input_links": [{"input": str(item), "names": [asdict(r) for r in references(str(item))]}
                                for item in lineage.get("input_ids") or []],
                "price_links": [asdict(r) for r in references(str(lineage.get("price_version") or ""))]}


def list_batches(settings: Settings, who: Actor, tenant_code: str | None = None, month: str | None = None,
                 page: int = 1, per_page: int = 50) -> NumberedPage:
    """Batches of the tenants the user may see (or of one tenant), newest month first."""
    require(who, "finance", tenant_code)
    page, per_page = page_number(page, per_page)
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = {t.id: t.code for t in uow.tenants.all() if who.can_see(t.code)}
        if tenant_code is not None:
            tenants = {i: c for i, c in tenants.items() if c == tenant_code}
        rows, total = uow.batches.list(list(tenants), month, per_page, (page - 1) * per_page)
        return NumberedPage([_batch_dict(b, tenants[b.tenant_id]) for b in rows], total, page, per_page)


def batch_invoices(settings: Settings, batch_id: int, who: Actor, after: str | None = None,
                   before: str | None = None, per_page: int = 50) -> KeyPage:
    """A page of a batch's invoices in invoice-key order, with customer names and totals, paged by key: the page
    after the invoice key ``after``, the page before ``before`` (``LAST``, the empty string: the last page), the
    first page without either. ``total`` counts the whole batch (an index count)."""
    require(who, "finance")
    per_page = per_page_bounds(per_page)
    with UnitOfWork(engine_for(settings)) as uow:
        batch = uow.batches.get(batch_id)
        if batch is None:
            raise NotFound(f"batch {batch_id}: not found")
        _visible(who, uow, batch.tenant_id, f"batch {batch_id}")
        rows, more_before, more_after = uow.invoices.page_by_key(batch_id, per_page, after, before)
        items = [{"id": r.id, "invoice_key": r.invoice_key, "number": r.number, "customer_id": r.customer_id,
                  "customer": r.customer, "group_key": r.group_key, "currency": r.currency,
                  "net": money(r.net, r.currency), "vat": money(r.vat, r.currency),
                  "gross": money(r.gross, r.currency), "status": r.status,
                  "credit_note": r.document_type == CREDIT_NOTE or (r.status == "draft" and is_credit_note(r.gross))}
                 for r in rows]
        return KeyPage(items, uow.invoices.count(batch_id), per_page, more_before, more_after, "invoice_key")


def invoice_detail(settings: Settings, invoice_id: int, who: Actor) -> dict[str, Any]:
    """An invoice with its VAT breakdown and every line (lineage included)."""
    require(who, "finance")
    with UnitOfWork(engine_for(settings)) as uow:
        invoice = uow.invoices.get(invoice_id)
        if invoice is None:
            raise NotFound(f"invoice {invoice_id}: not found")
        tenant_code = _visible(who, uow, invoice.tenant_id, f"invoice {invoice_id}")
        customer = uow.customers.get(invoice.customer_id)
        return {
            "id": invoice.id, "tenant": tenant_code, "invoice_key": invoice.invoice_key, "number": invoice.number,
            "issue_date": invoice.issue_date.isoformat() if invoice.issue_date else None, "status": invoice.status,
            "customer_id": invoice.customer_id, "customer": customer.name, "group_key": invoice.group_key,
            "currency": invoice.currency, "net": money(invoice.net, invoice.currency),
            "vat": money(invoice.vat, invoice.currency), "gross": money(invoice.gross, invoice.currency),
            "vat_breakdown": invoice.vat_breakdown,
            "lines": [_line_dict(line) for line in invoice.lines],
            **credit_note_facts(uow, invoice),
        }


def monthly_totals(settings: Settings, tenant_code: str, who: Actor, months: int = 12) -> list[dict[str, Any]]:
    """Net, VAT and gross per month (oldest first) of the tenant's last ``months`` batches, for the chart."""
    require(who, "finance", tenant_code)
    with UnitOfWork(engine_for(settings)) as uow:
        tenant = uow.tenants.by_code(tenant_code)
        if tenant is None:
            raise NotFound(f"tenant {tenant_code!r}: not in the ledger (run `cspbill init`)")
        rows, _ = uow.batches.list([tenant.id], None, months, 0)
        result = []
        for batch in reversed(rows):
            for currency, totals in ((batch.totals or {}).get("currencies") or {}).items():
                result.append({"month": batch.month, "status": batch.status, "currency": currency,
                               "net": totals["net"], "vat": totals["vat"], "gross": totals["gross"]})
        return result


def batch_tenant(settings: Settings, who: Actor, batch_id: int) -> tuple[str, str]:
    """The tenant code and month of a batch the actor may see (the approve/reject services take tenant and month)."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "finance")
        batch = owned(uow.session.get(Batch, batch_id), tenants, "batch", batch_id)
        return tenants[batch.tenant_id], batch.month
