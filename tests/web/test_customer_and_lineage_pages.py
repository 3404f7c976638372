"""The customer page's sections and the lineage links of a line, through the real app on a seeded month: each
input a line names opens its record, for finance of that legal entity only."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from config import Settings
from ledger.models import Invoice, InvoiceLine, Mutation, Subscription, UsageFile
from services.batches.inputs import references
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.web.conftest import signed_in
from tests.web.seed import Seeded
from tests.web.test_actions import follow, post

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def customer_of(settings: Settings, subscription_id: int) -> int:
    with UnitOfWork(engine_for(settings)) as uow:
        return uow.session.get(Subscription, subscription_id).customer_id


def test_the_customer_page_shows_subscriptions_mutations_findings_invoices_and_documents(
        settings: Settings, seeded: Seeded) -> None:
    customer = customer_of(settings, seeded.nl_subscription)
    dana = signed_in(settings, "dana")
    follow(dana, post(dana, f"/subscriptions/{seeded.nl_subscription}/mutations", step="save", kind="increase",
                      effective_date="2026-12-01", delta="+1", ticket_ref="INC-31"))
    page = dana.get(f"/customers/{customer}").text
    for section in ("subscriptions", "mutations", "findings", "invoices", "documents", "master-data"):
        assert f'href="#{section}"' in page and f'id="{section}"' in page
    assert f'<a href="/subscriptions/{seeded.nl_subscription}">Microsoft 365 E3</a>' in page
    assert "INC-31" in page and 'aria-label="Withdraw mutation' in page
    assert "vendor shows 12 since 2026-10-05, no mutation" in page  # the seeded open finding
    assert "Invoices are shown to people with the finance role." in page  # dana is desk only
    finance = signed_in(settings, "finn").get(f"/customers/{customer}").text
    with UnitOfWork(engine_for(settings)) as uow:
        invoice = uow.session.scalars(select(Invoice).where(Invoice.customer_id == customer)).first()
    assert f'<a href="/invoices/{invoice.id}">' in finance and "No invoices yet." not in finance
    assert f'<a href="/customers/{customer}">Contoso Zorg B.V.</a>' in dana.get("/customers").text


def test_each_lineage_input_links_to_the_record_it_names(settings: Settings, seeded: Seeded) -> None:
    finn = signed_in(settings, "finn")
    page = finn.get(f"/lines/{seeded.nl_line}").text
    links = re.findall(r'href="(/lineage/[a-z-]+/\d+)"', page)
    assert {link.split("/")[2] for link in links} >= {"snapshot", "price-rule"}
    for link in links:
        record = finn.get(link)
        assert record.status_code == 200, link
    snapshot = finn.get(next(link for link in links if "/snapshot/" in link)).text
    assert "Vendor snapshot" in snapshot and "quantity" in snapshot and "As the vendor sent it" in snapshot
    rule = finn.get(next(link for link in links if "/price-rule/" in link)).text
    assert "percent" in rule and "15" in rule
    greta = signed_in(settings, "greta")  # finance of de-gmbh only: nl-bv's snapshot is not hers
    assert greta.get(next(link for link in links if "/snapshot/" in link)).status_code == 404
    assert finn.get("/lineage/invoice/1").status_code == 404


def test_the_usage_files_a_line_names_open_as_one_page(settings: Settings, seeded: Seeded) -> None:
    """A usage line of the Parquet store names its month's usage file set (``usage_file_set:<id>``): its page lists
    each file with its rows and sha256, for finance of its legal entity only."""
    files = [UsageFile(path=f"tenant=1/month=2026-10/azure-costs-2026-10-{day:02d}.parquet", sha256=f"{day:064x}",
                       rows=day * 10) for day in (1, 2)]
    with UnitOfWork(engine_for(settings), write=True) as uow:
        set_id = uow.usage.file_set(uow.tenants.by_code("nl-bv").id, dt.date(2026, 10, 1), files)
    ((kind, record_id),) = [(r.kind, r.record_id) for r in references(f"usage_file_set:{set_id}")]
    page = signed_in(settings, "finn").get(f"/lineage/{kind}/{record_id}")
    assert page.status_code == 200
    assert f"Usage files summed {set_id}" in page.text and "2026-10" in page.text
    assert f"azure-costs-2026-10-02.parquet</th><td>20 rows, sha256 {2:064x}" in page.text
    assert signed_in(settings, "greta").get(f"/lineage/{kind}/{record_id}").status_code == 404


def test_a_mutation_in_a_lines_lineage_links_to_its_page_and_can_no_longer_be_withdrawn(
        settings: Settings, seeded: Seeded) -> None:
    dana = signed_in(settings, "dana")
    follow(dana, post(dana, f"/subscriptions/{seeded.nl_subscription}/mutations", step="save", kind="increase",
                      effective_date="2026-12-01", delta="+1", ticket_ref="INC-32"))
    with UnitOfWork(engine_for(settings), write=True) as uow:
        mutation_id = uow.session.scalar(select(Mutation.id))
        line = uow.session.get(InvoiceLine, seeded.nl_line)  # as if the build had billed the change it confirmed
        line.lineage = {**line.lineage, "input_ids": [*line.lineage["input_ids"], f"mutation:{mutation_id}"]}
        key = line.invoice.number or line.invoice.invoice_key
    assert f'href="/mutations/{mutation_id}"' in signed_in(settings, "finn").get(f"/lines/{seeded.nl_line}").text
    refused = follow(dana, post(dana, f"/mutations/{mutation_id}/cancel"))
    assert (f"Mutation {mutation_id} cannot be withdrawn: it is already billed (invoice {key}). Enter a new "
            "mutation to change the seats back.") in refused
