"""The blocking findings of a draft batch: customers whose master data their invoices or channels still lack.

Why here: review (`batch show`, the batch page) lists them and approval refuses while any is open (as the hard
blocks among ``services.batches.findings``), both from the same query; the rule itself is ``rating.readiness``.
Completing the customer (`cspbill customer set` or the desk's customer page) clears the finding at once, since it is
read from the customer, not stored with the batch.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from ledger.models import Customer, Invoice, InvoiceLine
from rating.readiness import BuyerData, Finding, blocking_findings
from services.uow import UnitOfWork


def batch_findings(uow: UnitOfWork, batch_id: int) -> list[Finding]:
    """Every blocking finding of the batch's customers, by customer name and field."""
    categories: dict[int, set[str]] = defaultdict(set)
    query = (select(Invoice.customer_id, InvoiceLine.vat_category)
             .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id).where(Invoice.batch_id == batch_id).distinct())
    for customer_id, category in uow.session.execute(query):
        categories[customer_id].add(category)
    customers = uow.session.scalars(select(Customer).where(Customer.id.in_(list(categories)))
                                    .order_by(Customer.name, Customer.id)).all()
    findings: list[Finding] = []
    for c in customers:
        buyer = BuyerData(c.id, c.name, c.delivery_channel, c.email, c.peppol_id, c.street, c.city, c.postal_code,
                          c.vat_id)
        findings += blocking_findings(buyer, categories[c.id])
    return findings
