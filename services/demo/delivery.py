"""The demo's delivery step: invoices go to customers by e-mail (into the SMTP catcher) and Peppol (into the access
point sandbox) after the export, once; a second run delivers nothing new.

Why it gives customers channels itself: the demo's customers come from the vendors' data, which carries no channel;
until the master data desk sets them, the step gives the first two invoiced customers of each legal entity without
one a channel (one e-mail, one Peppol), through the ledger as the desk would, so the month proves both channels end
to end. Customers that already have a channel keep it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from ledger.models import Customer, Delivery, Invoice, Tenant
from sandbox import peppol_ap
from sandbox.smtp_catcher import SmtpCatcher
from services.access import Actor
from services.clock import Clock
from services.delivery import deliver_invoices
from services.runtime import engine_for
from services.uow import UnitOfWork

PEPPOL_KEY_ENV = "CSPBILL_PEPPOL_API_KEY"
EMAIL_FORMATS = {"DE": "facturx"}  # German recipients expect Factur-X; everyone else the PDF plus UBL
DEMO_PEPPOL_IDS = {"NL": ("0106", "{n:08d}"), "DE": ("9930", "DE{n:09d}")}

Progress = Callable[[str], None]


def delivery_config(tenant: dict[str, Any], urls: dict[str, str], ca_bundle: Path, mail: SmtpCatcher,
                    env: dict[str, str]) -> dict[str, Any]:
    """The tenant's ``delivery:`` section pointed at the catcher and the access point sandbox."""
    given = dict(tenant.get("delivery") or {})
    contact = ((tenant.get("seller") or {}).get("contact") or {}).get("email") or "billing@reseller.example"
    env[PEPPOL_KEY_ENV] = peppol_ap.CREDENTIALS["api_key"]
    return {
        **given,
        "email_format": given.get("email_format") or EMAIL_FORMATS.get(tenant["country"], "ubl"),
        "smtp": {"host": mail.host, "port": mail.port, "starttls": False, "from": contact},
        "peppol": {"base_url": urls["peppol_ap"], "api_key_env": PEPPOL_KEY_ENV, "ca_bundle": str(ca_bundle),
                   "legal_entity_id": int(peppol_ap.CREDENTIALS["legal_entity_id"])},
    }


def give_channels(settings: Any, who: Actor, progress: Progress) -> None:
    """One e-mail and one Peppol customer per legal entity, when none of its invoiced customers has a channel."""
    with UnitOfWork(engine_for(settings), write=True) as uow:
        for tenant in uow.session.scalars(select(Tenant).order_by(Tenant.code)):
            customers = uow.session.scalars(
                select(Customer).join(Invoice, Invoice.customer_id == Customer.id)
                .where(Invoice.tenant_id == tenant.id, Invoice.number.is_not(None)).distinct()
                .order_by(Customer.id)).all()
            if not customers or any(c.delivery_channel for c in customers):
                continue
            first, *rest = customers
            first.delivery_channel, first.email = "email", f"invoices+c{first.id}@customer.example"
            if rest:
                scheme, pattern = DEMO_PEPPOL_IDS.get(tenant.country, ("0106", "{n:08d}"))
                rest[0].delivery_channel = "peppol"
                rest[0].peppol_scheme, rest[0].peppol_id = scheme, pattern.format(n=10_000_000 + rest[0].id)
            uow.audit.record(who.username, "customer.channel", "tenant", tenant.code, tenant.id,
                             after={"email": first.id, "peppol": rest[0].id if rest else None})
            progress(f"demo: {tenant.code} customers {first.name} (e-mail)"
                     + (f" and {rest[0].name} (Peppol)" if rest else "") + " given a delivery channel")


def deliver_month(settings: Any, approvers: dict[str, Actor], clock: Clock, progress: Progress) -> dict[str, int]:
    """Deliver every tenant's invoices with its approver; the counts of this run and of the whole outbox."""
    counts: dict[str, int] = {"delivered": 0, "delivery_failed": 0}
    for tenant in settings.tenants:
        if tenant.delivery is None or tenant.code not in approvers:
            continue
        for summary in deliver_invoices(settings, approvers[tenant.code], tenant.code, clock=clock):
            found = summary.counts()
            counts["delivered"] += found.get("sent", 0)
            counts["delivery_failed"] += sum(found.get(k, 0) for k in ("failed", "bounced", "uncertain"))
            progress(f"deliver {summary.tenant}: {summary.queued} newly queued, {found or 'nothing to do'}")
    with UnitOfWork(engine_for(settings)) as uow:
        for channel, status, n in uow.session.execute(select(Delivery.channel, Delivery.status, func.count())
                                                      .group_by(Delivery.channel, Delivery.status)):
            counts[f"{channel}_{status}"] = n
    return counts
