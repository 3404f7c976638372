"""A legal entity with delivery configured against the SMTP catcher and the Peppol access point sandbox, and
approved invoices whose customers' channels are set through the ORM (the master data desk is another use case)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from config import Settings
from config.delivery import DeliveryConfig
from ledger.models import Customer, Invoice
from sandbox import peppol_ap, smtp_catcher
from sandbox.core import Clock, SandboxServer
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork

API_KEY_ENV = "TEST_PEPPOL_API_KEY"


@dataclass
class Sandboxes:
    smtp: smtp_catcher.SmtpCatcher
    ap: SandboxServer
    ap_dir: Path

    def transmitted(self) -> list[Path]:
        return sorted((self.ap_dir / "transmitted").glob("*.xml"))


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[Sandboxes]:
    catcher = smtp_catcher.start(tmp_path / "mail")
    ap_dir = tmp_path / "ap"
    server = SandboxServer(peppol_ap.build(Clock(), state_dir=ap_dir), prefix=peppol_ap.PREFIX).start()
    os.environ[API_KEY_ENV] = peppol_ap.CREDENTIALS["api_key"]
    try:
        yield Sandboxes(catcher, server, ap_dir)
    finally:
        server.stop()
        catcher.stop()


def with_delivery(settings: Settings, sandboxes: Sandboxes, tenant: str = "nl-bv", email_format: str = "ubl",
                  **extra: object) -> Settings:
    """``settings`` with ``tenant`` delivering through the sandboxes (right after approval unless ``after_export``)."""
    section = DeliveryConfig.model_validate({
        "email_format": email_format, "after_export": False,
        "smtp": {"host": sandboxes.smtp.host, "port": sandboxes.smtp.port, "starttls": False,
                 "from": "billing@reseller.example"},
        "peppol": {"base_url": f"{sandboxes.ap.url}{peppol_ap.PREFIX}", "api_key_env": API_KEY_ENV,
                   "legal_entity_id": int(peppol_ap.CREDENTIALS["legal_entity_id"])},
        **extra})
    tenants = [t.model_copy(update={"delivery": section}) if t.code == tenant else t for t in settings.tenants]
    changed = settings.model_copy(update={"tenants": tenants})
    initialise(changed)
    return changed


def set_channel(settings: Settings, number: str, channel: str | None, *, email: str | None = None,
                peppol: tuple[str, str] | None = None) -> None:
    """Give the customer of invoice ``number`` a channel, as the master data desk would."""
    with UnitOfWork(engine_for(settings), write=True) as uow:
        invoice = uow.session.scalar(select(Invoice).where(Invoice.number == number))
        customer = uow.session.get(Customer, invoice.customer_id)
        customer.delivery_channel, customer.email = channel, email
        customer.peppol_scheme, customer.peppol_id = peppol or (None, None)
