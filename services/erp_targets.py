"""Build the ERP adapter a legal entity exports to, from its ``erp`` section in config.yaml.

Why here and not in ``erp_export``: the adapters know nothing of config (they take plain dataclasses), and the outbox
needs a little more than an adapter: the outbox target name, whether to post, and the revenue account the lines go
to. Secrets are read from the environment at the moment of use (``config.schema.secret``) and never logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from config import Settings
from config.schema import MissingSecret, Tenant, secret
from erp_export.base import ErpExporter, vat_key
from erp_export.bc_soap import BcSoapConfig, BcSoapExporter
from services.errors import ValidationFailed

# The revenue G/L account of licence and Azure lines when the ERP has no item master for them.
DEFAULT_REVENUE_ACCOUNT = "8010"
# The BC partner codeunit operations that post over SOAP (erp.md §1.4); standard BC has none.
SOAP_POST_OPERATION = "PostInvoice"
SOAP_POSTED_LOOKUP = "FindPostedInvoice"
ZERO_RATE_CATEGORIES = ("Z", "AE", "E", "K", "G", "O")


@dataclass(frozen=True)
class ErpTarget:
    """One legal entity's ERP as the outbox uses it. ``name`` is the outbox ``target`` column: one row per (name,
    invoice), so switching a tenant to another ERP kind exports its open invoices there afresh."""

    name: str
    exporter: ErpExporter
    post: bool = False
    revenue_account: str = DEFAULT_REVENUE_ACCOUNT


def erp_target(settings: Settings, tenant: Tenant) -> ErpTarget:
    """The adapter for ``tenant``; ``ValidationFailed`` naming the config key when it cannot be built."""
    erp = tenant.erp
    if erp.kind == "none":
        raise ValidationFailed(f"tenant {tenant.code!r}: erp.kind is 'none', there is no ERP to export to")
    if erp.kind != "bc_soap":
        raise ValidationFailed(f"tenant {tenant.code!r}: erp.kind {erp.kind!r} has no adapter in this build yet")
    try:
        username, password = secret(erp.username_env), secret(erp.password_env)
    except MissingSecret as exc:
        raise ValidationFailed(f"tenant {tenant.code!r}: erp credentials: {exc}") from exc
    if not username or not password:
        raise ValidationFailed(f"tenant {tenant.code!r}: erp.username_env and erp.password_env are required for "
                               "bc_soap")
    assert erp.base_url is not None  # the schema requires it for every kind but "none"
    config = BcSoapConfig(
        service_url=erp.base_url, username=username, password=password, vat_groups=vat_groups(tenant),
        local_currency=tenant.currency, verify=_verify(settings, erp.ca_bundle),
        post_operation=SOAP_POST_OPERATION if erp.post_invoices else None,
        posted_lookup_operation=SOAP_POSTED_LOOKUP if erp.post_invoices else None,
    )
    return ErpTarget(name=erp.kind, exporter=BcSoapExporter(config), post=erp.post_invoices)


def vat_groups(tenant: Tenant) -> dict[str, str]:
    """VAT code per (category, rate): the tenant's rate names upper-cased (``standard`` -> ``STANDARD``), which is
    how the VAT product posting groups of a BC company set up for cspbill are named."""
    groups: dict[str, str] = {}
    for name, rate in tenant.vat_rates.items():
        categories = ZERO_RATE_CATEGORIES if rate == Decimal(0) else ("S",)
        for category in categories:
            groups.setdefault(vat_key(category, rate), name.upper())
    return groups


def _verify(settings: Settings, ca_bundle: str | None) -> bool | str:
    if ca_bundle is None:
        return True
    path = Path(ca_bundle)
    return str(path if path.is_absolute() else settings.base_dir / path)
