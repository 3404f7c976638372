"""The demo desk completes its customers' master data on the first day, from ``master_data.yaml``.

Why through the desk's service: the demo must show what a reseller does, so each customer's VAT id, channel, e-mail,
Peppol id and Leitweg-ID is entered with ``update_master_data`` (validated with python-stdnum, audited as the desk
person) and, where VIES is configured, confirmed with ``check_vat`` against the VIES sandbox. Customers are found
by legal entity and ERP customer number, which the distributors' data and the desk's numbering make stable.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from config import Settings
from services.access import Actor
from services.clock import Clock
from services.desk import check_vat, customer_detail, list_customers, update_master_data

DATA = Path(__file__).with_name("master_data.yaml")


def complete_master_data(settings: Settings, desk: Actor, clock: Clock, progress: Callable[[str], None]) -> None:
    """Enter the file's fields for every customer it names, then ask VIES about the VAT ids never checked."""
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    entered = checked = 0
    for tenant in settings.tenants:
        wanted = data.get(tenant.code) or {}
        for customer in list_customers(settings, desk, tenant.code):
            fields = wanted.get(customer.reference)
            if fields is None:
                continue
            view = update_master_data(settings, desk, customer.id,
                                      {name: str(value) for name, value in fields.items()}, clock)
            entered += 1
            if settings.vies.enabled and view.vat_id and view.vat_checked_at is None:
                check_vat(settings, desk, customer.id, clock)
                checked += 1
    answers = [customer_detail(settings, desk, c.id).vat_check_result for c in list_customers(settings, desk)]
    progress(f"desk: master data of {entered} customers entered; VIES asked about {checked} VAT ids "
             f"({answers.count('valid')} valid, {answers.count('unavailable')} unavailable)")
