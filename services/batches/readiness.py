"""The blocking findings of a draft batch: customers whose master data their invoices or channels still lack.

Why here: review (`batch show`, the batch page) lists them and approval refuses while any is open (as the hard
blocks among ``services.batches.findings``), both from the same query; the rule itself is ``rating.readiness``.
Completing the customer (`cspbill customer set` or the desk's customer page) clears the finding at once, since it is
read from the customer, not stored with the batch.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import and_, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ledger.models import Customer, Invoice, InvoiceLine
from rating.readiness import REVERSE_CHARGE, BuyerData, Finding, blocking_findings
from services.uow import UnitOfWork


def _maybe_blank(uow: UnitOfWork, column: Any) -> ColumnElement[bool]:
    """NULL, empty or without a letter or digit: every value the rule may find blank (and a few it will not, such
    as a street of non-Latin letters only; the rule decides)."""
    if uow.session.get_bind().dialect.name == "postgresql":
        has_text = column.regexp_match("[0-9A-Za-z]")
    else:
        has_text = column.op("GLOB")("*[0-9A-Za-z]*")
    return or_(column.is_(None), not_(has_text))


def batch_findings(uow: UnitOfWork, batch_id: int) -> list[Finding]:
    """Every blocking finding of the batch's customers, by customer name and field.

    Only the customers that may lack something are read (chosen in SQL), so a complete batch of hundreds of
    thousands of customers costs one query; the rule itself runs on those."""
    in_batch = select(Invoice.customer_id).where(Invoice.batch_id == batch_id)
    reverse_charge = Customer.id.in_(select(InvoiceLine.customer_id).join(Invoice, Invoice.id == InvoiceLine.invoice_id)
                                     .where(Invoice.batch_id == batch_id, InvoiceLine.vat_category == REVERSE_CHARGE))
    candidates = select(Customer.id).where(Customer.id.in_(in_batch), or_(
        *(_maybe_blank(uow, column) for column in (Customer.street, Customer.city, Customer.postal_code)),
        and_(Customer.delivery_channel == "peppol", _maybe_blank(uow, Customer.peppol_id)),
        and_(Customer.delivery_channel == "email", _maybe_blank(uow, Customer.email)),
        and_(_maybe_blank(uow, Customer.vat_id), reverse_charge)))
    customers = uow.session.scalars(select(Customer).where(Customer.id.in_(candidates))
                                    .order_by(Customer.name, Customer.id)).all()
    categories: dict[int, set[str]] = defaultdict(set)
    query = (select(Invoice.customer_id, InvoiceLine.vat_category)
             .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
             .where(Invoice.batch_id == batch_id, Invoice.customer_id.in_(candidates)).distinct())
    for customer_id, category in uow.session.execute(query) if customers else ():
        categories[customer_id].add(category)
    findings: list[Finding] = []
    for c in customers:
        buyer = BuyerData(c.id, c.name, c.delivery_channel, c.email, c.peppol_id, c.street, c.city, c.postal_code,
                          c.vat_id)
        findings += blocking_findings(buyer, categories[c.id])
    return findings
