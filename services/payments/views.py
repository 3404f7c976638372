"""What finance reads about payments: entries (all, or the review queue), open items per customer with each
invoice's creditor reference, the straight-through rate per month (credit entries the matcher applied alone), and
the average days from issue to payment per month."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from config import Settings
from rating.payments.reference import creditor_reference, printed
from services.access import Actor, readable_tenants
from services.payments.applying import MATCHER, money
from services.runtime import engine_for
from services.uow import UnitOfWork

QUEUE = ("review", "unmatched")


def list_entries(settings: Settings, who: Actor, tenant: str | None = None, status: str | None = None,
                 month: str | None = None, queue: bool = False, limit: int = 200,
                 newest_first: bool = False) -> list[dict[str, Any]]:
    """Bank entries with their proposal (score, reasons, invoices); ``queue``: those waiting for a person."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "finance", tenant)
        customers: dict[int, str] = {}
        for tenant_id in tenants:
            customers.update(uow.payments.customers(tenant_id))
        rows = []
        for wanted in (QUEUE if queue else (status,)):
            rows.extend(uow.payments.entries(list(tenants), wanted, month, limit, newest_first))
        rows.sort(key=lambda e: (e.booking_date, e.id), reverse=newest_first)
        return [{
            "id": e.id, "tenant": tenants[e.tenant_id], "booking_date": e.booking_date.isoformat(),
            "amount": money(e.amount, e.currency), "currency": e.currency, "payer": e.payer_name,
            "payer_iban": e.payer_iban,
            "reference": e.reference, "text": e.text, "status": e.status, "score": e.score,
            "customer": customers.get(e.customer_id or e.proposal.get("customer_id") or 0),
            "invoices": [a["number"] for a in e.proposal.get("allocations", [])],
            "reasons": e.proposal.get("reasons", []), "decided_by": e.decided_by,
            "bank_reference": e.bank_reference,
        } for e in rows[:limit]]


def open_items(settings: Settings, who: Actor, tenant: str | None = None,
               customer: str | None = None) -> list[dict[str, Any]]:
    """Invoices still open per customer (``customer``: a part of the name), oldest first, with their reference."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "finance", tenant)
        items = []
        for tenant_id, code in tenants.items():
            for row in uow.payments.open_items(tenant_id):
                if customer and customer.casefold() not in row.customer.casefold():
                    continue
                reference = creditor_reference(row.number)
                items.append({"tenant": code, "customer": row.customer, "customer_id": row.customer_id,
                              "invoice": row.number,
                              "issue_date": row.issue_date and row.issue_date.isoformat(), "currency": row.currency,
                              "gross": money(row.gross, row.currency), "paid": money(row.paid, row.currency),
                              "open": money(row.gross - row.paid, row.currency),
                              "reference": reference, "reference_printed": printed(reference)})
        return sorted(items, key=lambda i: (i["tenant"], i["customer"], i["issue_date"] or "", i["invoice"]))


def straight_through(settings: Settings, who: Actor, tenant: str | None = None) -> list[dict[str, Any]]:
    """Per legal entity and booking month: credit entries, how many the matcher applied alone, and the rate."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "finance", tenant)
        counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for row in uow.payments.credit_entries(list(tenants)):
            cell = counts[(tenants[row.tenant_id], row.booking_date.isoformat()[:7])]
            cell[0] += 1
            cell[1] += row.status == "applied" and row.decided_by == MATCHER
        return [{"tenant": code, "month": month, "entries": total, "automatic": auto,
                 "rate": round(auto / total, 3) if total else None}
                for (code, month), (total, auto) in sorted(counts.items())]


def days_to_pay(settings: Settings, who: Actor, tenant: str | None = None) -> list[dict[str, Any]]:
    """Per legal entity and month of payment: how many applications, and the average days from the invoice's issue
    to the bank's booking day (a day count, not money: rounded to a tenth)."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "finance", tenant)
        days: dict[tuple[str, str], list[int]] = defaultdict(list)
        for row in uow.payments.paid_days(list(tenants)):
            days[(tenants[row.tenant_id], row.booking_date.isoformat()[:7])].append(
                (row.booking_date - row.issue_date).days)
        return [{"tenant": code, "month": month, "payments": len(values),
                 "average_days": round(sum(values) / len(values), 1)}
                for (code, month), values in sorted(days.items())]
