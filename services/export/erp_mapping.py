"""A ledger invoice as its ERP must receive it: each line on the revenue account of its billing type, each VAT key
mapped to the ERP's VAT code, checked before anything is sent.

Why before sending: an ERP that gets a line without a VAT code picks its own default (BC) or refuses one line of
several (Exact, Tryton), so a missing mapping would book the wrong VAT or leave half an invoice. The check names the
tenant, the invoice, the line and the missing key, and the outbox leaves the whole invoice queued until config.yaml
maps it (``cspbill export --dry-run`` shows the same error).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal

from sqlalchemy import select

from config.erp_mapping import RevenueAccounts, parse_vat_key, vat_key_text
from config.schema import Tenant as TenantConfig
from erp_export.base import vat_key
from erp_export.bc_soap_pages import VAT_BUSINESS_GROUP
from erp_export.documents import InvoiceDocument
from ledger.models import Invoice, Subscription
from ledger.models import InvoiceLine as LedgerLine
from services.errors import ValidationFailed
from services.export.documents import invoice_customer, invoice_document
from services.uow import UnitOfWork

ZERO_RATE_CATEGORIES = ("Z", "AE", "E", "K", "G", "O")
# Exact Online's standard Dutch VAT codes (high 21 %, low 9 %, zero); other divisions configure erp.vat_codes.
EXACT_NL_VAT_CODES = {"S 21": "2  ", "S 9": "1  ", "Z 0": "0  ", "AE 0": "0  ", "O 0": "0  "}


class UnmappedVat(ValidationFailed):
    """A line's VAT key has no ERP VAT code in ``erp.vat_codes`` (or no business posting group): nothing of the
    invoice is sent."""

    def __init__(self, tenant: str, invoice: str, line: str, key: str, setting: str) -> None:
        super().__init__(f"tenant {tenant!r}: invoice {invoice}: line {line}: VAT key {key!r} has no mapping in "
                         f"erp.{setting}; add it to config.yaml (the invoice stays queued)")
        self.tenant, self.invoice, self.line, self.key = tenant, invoice, line, key


def configured_vat_codes(tenant: TenantConfig) -> dict[str, str]:
    """The tenant's VAT key -> ERP code map in config form (``"S 21"``): ``erp.vat_codes`` when given; else Exact's
    standard Dutch codes for exact_online, and for the other kinds the tenant's rate names upper-cased (``standard``
    -> ``STANDARD``), which is how the VAT product posting groups of a BC company set up for cspbill are named."""
    erp = tenant.erp
    if erp.vat_codes is not None:
        return dict(erp.vat_codes)
    if erp.kind == "exact_online":
        return dict(EXACT_NL_VAT_CODES)
    codes: dict[str, str] = {}
    for name, rate in tenant.vat_rates.items():
        for category in ZERO_RATE_CATEGORIES if rate == Decimal(0) else ("S",):
            codes.setdefault(vat_key_text(category, rate), name.upper())
    return codes


def adapter_vat_codes(tenant: TenantConfig) -> dict[str, str]:
    """The same map keyed as the adapters key it (``erp_export.base.vat_key``: ``"S:21"``)."""
    return {vat_key(*parse_vat_key(key)): code for key, code in configured_vat_codes(tenant).items()}


def check_mapping(tenant: TenantConfig, doc: InvoiceDocument) -> None:
    """Raise ``UnmappedVat`` for the first line whose VAT key the ERP cannot take; BC's business posting groups are
    checked when the tenant maps any."""
    codes = configured_vat_codes(tenant)
    groups = tenant.erp.vat_business_posting_groups
    for line in doc.lines:
        key = vat_key_text(line.vat_category, line.vat_rate)
        if key not in codes:
            raise UnmappedVat(tenant.code, doc.invoice_number, line.key, key, "vat_codes")
        if groups and line.vat_category not in groups:
            raise UnmappedVat(tenant.code, doc.invoice_number, line.key, line.vat_category,
                              "vat_business_posting_groups")


def business_posting_group(tenant: TenantConfig, doc: InvoiceDocument) -> str | None:
    """The VAT Bus. Posting Group of ``doc`` (BC): the group of its lines' categories; ``None`` when the tenant maps
    none. An invoice mixing domestic and reverse-charge lines has no single group: a typed error naming both."""
    groups = tenant.erp.vat_business_posting_groups
    if not groups:
        return None
    found = {groups[line.vat_category] for line in doc.lines if line.vat_category in groups}
    if len(found) > 1:
        raise ValidationFailed(f"tenant {tenant.code!r}: invoice {doc.invoice_number}: its lines need VAT business "
                               f"posting groups {sorted(found)} (erp.vat_business_posting_groups); BC takes one per "
                               "invoice")
    return next(iter(found), None)


def erp_document(config: TenantConfig, uow: UnitOfWork, invoice: Invoice, accounts: RevenueAccounts) -> InvoiceDocument:
    """``invoice`` as its ERP receives it: lines on their revenue accounts, every VAT key mapped (else
    ``UnmappedVat``), other ledger problems a ``ValidationFailed`` naming the invoice."""
    doc = invoice_document(config, invoice, invoice_customer(uow, invoice), uow.exports.batch(invoice.batch_id),
                           account_of(accounts, uow, invoice))
    check_mapping(config, doc)
    group = business_posting_group(config, doc)
    return doc if group is None else replace(doc, extra={**doc.extra, VAT_BUSINESS_GROUP: group})


def account_of(accounts: RevenueAccounts, uow: UnitOfWork, invoice: Invoice) -> Callable[[LedgerLine], str]:
    """The revenue account of each line of ``invoice`` by its billing type (``erp.revenue_account``)."""
    types = billing_types(uow, invoice)
    return lambda line: accounts.account(types.get(line.id))


def billing_types(uow: UnitOfWork, invoice: Invoice) -> Mapping[int, str | None]:
    """Line id -> billing type: ``usage`` for consumption lines, else the subscription's (license, one_time, trial);
    ``None`` when the line has neither (a recon charge without a subscription: the default account)."""
    ids = {line.subscription_id for line in invoice.lines if line.subscription_id is not None}
    by_subscription = dict(uow.session.execute(
        select(Subscription.id, Subscription.billing_type).where(Subscription.id.in_(ids))).tuples().all()) if ids \
        else {}
    return {line.id: "usage" if line.kind == "usage" else by_subscription.get(line.subscription_id)
            for line in invoice.lines}
