"""Benchmark: cash application of a noisy month with the real import (``services.payments.import_statement``).

``BENCH_SCALE`` × 300 nl-bv customers with one to three approved invoices each are paid by the demo statement's
generator (``services.demo.statement.planned_payments``: creditor references, invoice numbers in free text, misspelt
names without reference, combined, partial, bank charges, a stranger, a bank fee), which also says which invoices each
payer meant. Prints the straight-through rate (credit entries applied by the matcher alone) and ``wrong``: entries
the matcher applied to other invoices than the payer meant. Goal: ≥ 0.85 straight through, 0 wrong. Never asserts.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from bench.common import demo_ledger, in_scratch_folder, measure, scaled
from config import Settings
from ledger.models import BankEntry, Batch, Invoice
from sandbox.bank.camt053 import AccountStatement, camt053
from services.demo.statement import open_item, planned_payments
from services.operations import initialise
from services.payments import import_statement, open_items
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor

MONTH = "2026-10"
FIRST = ("Blue", "North", "Delta", "Green", "Rapid", "Silver", "Oak", "Harbor", "Summit", "Polder", "Kanaal", "Duin")
SECOND = ("Logistics", "Zorg", "Techniek", "Retail", "Bouw", "Media", "Advies", "Energie", "Transport", "Foods")
FORMS = ("B.V.", "GmbH", "N.V.", "Holding B.V.", "")


def seed(settings: Settings, customers: int) -> None:
    rng = random.Random(7)
    initialise(settings)
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant = uow.tenants.by_code("nl-bv")
        batch = Batch(tenant_id=tenant.id, month=MONTH, status="draft", built_by="finn")
        uow.session.add(batch)
        uow.session.flush()
        names: set[str] = set()
        number = 0
        while len(names) < customers:
            name = " ".join(filter(None, (rng.choice(FIRST), rng.choice(SECOND), f"{rng.randint(1, 999)}",
                                          rng.choice(FORMS))))
            if name in names:
                continue
            names.add(name)
            customer = uow.customers.add(tenant.id, name, country="NL")
            for _ in range(rng.randint(1, 3)):
                number += 1
                gross = Decimal(rng.randint(2_000, 500_000)) / 100
                uow.session.add(Invoice(batch_id=batch.id, tenant_id=tenant.id, customer_id=customer.id,
                                        invoice_key=f"bench:{number}", number=f"NL2026-{number:05d}",
                                        issue_date=dt.date(2026, 11, 3), currency="EUR", net=gross, vat=Decimal(0),
                                        gross=gross, status="approved"))
        uow.session.flush()
        batch.status = "approved"


def run(folder: Path) -> None:
    settings = demo_ledger(folder)
    seed(settings, scaled(300))
    finn = actor(settings, "finn")
    items = [open_item(i) for i in open_items(settings, finn, "nl-bv")]
    planned = planned_payments(f"{MONTH}:bench", "nl-bv", items)
    statement = AccountStatement("BENCH", "NL91ABNA0417164300", "EUR", Decimal(0), tuple(p.booking for p in planned))
    file = camt053([statement], dt.datetime(2026, 11, 30, 18, tzinfo=dt.UTC), "BENCH")
    meant = {p.booking.reference: set(p.invoices) for p in planned}
    result = None
    with measure("import_statement", len(planned)):
        result = import_statement(settings, finn, file, "bench.xml")
    with UnitOfWork(engine_for(settings)) as uow:
        entries = uow.session.scalars(select(BankEntry)).all()
    credits = [e for e in entries if e.amount > 0]
    automatic = [e for e in credits if e.status == "applied"]
    wrong = [e for e in entries if e.status == "applied"
             and {a["number"] for a in e.proposal["allocations"]} != meant[e.bank_reference]]
    print(f"BENCH name=cash_application items={len(entries)} straight_through={len(automatic) / len(credits):.3f} "
          f"wrong={len(wrong)} review={result.outcomes.get('review', 0)} "
          f"unmatched={result.outcomes.get('unmatched', 0)}", flush=True)
    for entry in wrong[:5]:
        print(f"wrong: {entry.bank_reference} {entry.amount} {entry.payer_name!r} -> "
              f"{[a['number'] for a in entry.proposal['allocations']]}, meant {sorted(meant[entry.bank_reference])}; "
              f"{entry.proposal['reasons']}", flush=True)


def main() -> None:
    in_scratch_folder(run)


if __name__ == "__main__":
    main()
