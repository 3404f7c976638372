"""The export page's service: what each invoice of a batch will be in the ERP (create, unchanged, correction,
uncertain, blocked), from the dry run's ERP look-ups against the BC SOAP sandbox, and the batch-scoped "Export all".
"""

from __future__ import annotations

from dataclasses import fields

import pytest
from sqlalchemy import select

from config import Settings
from erp_export.base import export_document
from erp_export.documents import compose
from ledger.models import Batch, Export, Invoice
from services.errors import NotAllowed, NotFound, ValidationFailed
from services.export import batch_export, classify, erp_target, export_invoices
from services.export.erp_mapping import erp_document
from services.export.preview import BatchExport
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.export.test_export_outbox import (  # noqa: F401 - nl, soap and soap_env are fixtures used here
    FAST,
    MONTH,
    SOAP,
    Soap,
    assert_exactly_once,
    exports,
    nl,
    run,
    seed_invoices,
    soap,
    soap_env,
)

CLASSIFICATION = [
    # invoice status, outbox status, dry-run action -> what the ERP receives
    ("approved", None, "would-create", "create"),
    ("approved", "queued", "would-create", "create"),
    ("approved", "failed", "would-create", "create"),
    ("approved", None, "would-skip", "unchanged"),
    ("approved", None, "would-update", "correction"),
    ("approved", "uncertain", "uncertain", "uncertain"),
    ("approved", "sending", "uncertain", "uncertain"),
    ("approved", None, "failed", "blocked"),
    ("approved", "sent", None, "unchanged"),  # sent: the dry run does not look it up again
    ("exported", "sent", None, "unchanged"),
    ("exported", None, None, "unchanged"),  # exported to an earlier ERP target
]


@pytest.mark.parametrize(("invoice_status", "status", "planned", "kind"), CLASSIFICATION)
def test_classification(invoice_status: str, status: str | None, planned: str | None, kind: str) -> None:
    assert classify(invoice_status, status, planned) == kind


def test_an_approved_invoice_the_dry_run_did_not_plan_is_an_error() -> None:
    with pytest.raises(ValidationFailed, match="not planned by the dry run"):
        classify("approved", "queued", None)


COMPUTED = ("lines", "vat_breakdown", "total_net", "total_vat", "total_gross")


def _batch_id(settings: Settings, month: str = MONTH) -> int:
    with UnitOfWork(engine_for(settings)) as uow:
        return uow.session.scalar(select(Batch.id).where(Batch.month == month))


def _put_in_erp(settings: Settings, number: str, lines: slice) -> None:
    """The ERP already holds ``number`` (a person keyed it in, or an earlier system sent it), with ``lines`` of it."""
    config = settings.tenant("nl-bv")
    target = erp_target(settings, config)
    with UnitOfWork(engine_for(settings)) as uow:
        invoice = uow.session.scalar(select(Invoice).where(Invoice.number == number))
        doc = erp_document(config, uow, invoice, target.accounts())
    header = {f.name: getattr(doc, f.name) for f in fields(doc) if f.name not in COMPUTED}
    export_document(target.exporter, compose(lines=doc.lines[lines], **header), policy=FAST)


def test_the_preview_tells_create_unchanged_and_correction_and_the_export_does_it(nl: Settings, soap: Soap) -> None:  # noqa: F811
    numbers = seed_invoices(nl)
    _put_in_erp(nl, numbers[1], slice(None))  # all of it: unchanged
    _put_in_erp(nl, numbers[2], slice(0, 1))  # one line of two: the export corrects the draft
    batch = _batch_id(nl)
    view = batch_export(nl, actor(nl, "finn"), batch, preview=True)
    assert view.previewed and view.target == "bc_soap" and view.exportable
    assert [(r.number, r.customer, r.kind, r.status) for r in view.rows] == [
        (numbers[0], "Customer C00001", "create", None),
        (numbers[1], "Customer C00002", "unchanged", None),
        (numbers[2], "Customer C00003", "correction", None)]
    assert view.rows[0].gross > 0 and view.rows[0].currency == "EUR"
    assert view.counts() == {"total": 3, "done": 0, "failed": 0, "waiting": 0}
    assert exports(nl) == []  # the preview writes nothing

    outcomes = run(nl, batch=batch)
    assert [o.action for o in outcomes] == ["created", "skipped", "updated"]
    assert_exactly_once(soap, nl, numbers)
    after = batch_export(nl, actor(nl, "finn"), batch, preview=True)
    assert {r.kind for r in after.rows} == {"unchanged"} and after.counts()["done"] == 3


def test_a_document_the_ledger_cannot_make_is_blocked_with_its_reason(nl: Settings, soap: Soap) -> None:  # noqa: F811
    seed_invoices(nl, customers=["C00001", "C99999"])
    view = batch_export(nl, actor(nl, "finn"), _batch_id(nl), preview=True)
    assert [r.kind for r in view.rows] == ["create", "create"]  # the look-up finds nothing for either
    run(nl, batch=_batch_id(nl))
    view = batch_export(nl, actor(nl, "finn"), _batch_id(nl))
    assert [r.status for r in view.rows] == ["sent", "failed"]
    assert "The Customer does not exist" in (view.rows[1].last_error or "")
    assert view.counts() == {"total": 2, "done": 1, "failed": 1, "waiting": 0}


def test_export_all_of_one_batch_leaves_the_other_batches_alone(nl: Settings, soap: Soap) -> None:  # noqa: F811
    april = seed_invoices(nl, month="2026-04", count=1)
    may = seed_invoices(nl, count=2)
    counted: list[tuple[str, int, int]] = []
    outcomes = run(nl, batch=_batch_id(nl), counted=lambda *step: counted.append(step))
    assert [(o.invoice_number, o.action) for o in outcomes] == [(n, "created") for n in may]
    assert counted == [("nl-bv", 0, 2), ("nl-bv", 1, 2), ("nl-bv", 2, 2)]  # what the CLI's bar shows
    assert soap.documents(f"CSP-NL-BV-{april[0]}") == []
    with UnitOfWork(engine_for(nl)) as uow:
        assert uow.session.scalar(select(Export.id).join(Invoice, Invoice.id == Export.invoice_id)
                                  .where(Invoice.number == april[0])) is None
    with pytest.raises(ValidationFailed, match="needs its tenant"):
        export_invoices(nl, actor(nl, "finn"), batch=_batch_id(nl))


def test_the_page_of_another_entitys_batch_is_not_found_and_desk_may_not_preview(nl: Settings, soap: Soap) -> None:  # noqa: F811
    seed_invoices(nl, count=1)
    with pytest.raises(NotFound):
        batch_export(nl, actor(nl, "greta"), _batch_id(nl))
    with pytest.raises((NotAllowed, NotFound)):
        batch_export(nl, actor(nl, "dana"), _batch_id(nl))


def _walk(settings: Settings, batch: int, per_page: int) -> list[BatchExport]:
    """Every window of the batch's export page, first to last, following ``next_after``."""
    windows, after = [], None
    while True:
        view = batch_export(settings, actor(settings, "finn"), batch, after=after, per_page=per_page)
        windows.append(view)
        if not view.page.has_next:
            return windows
        after = view.page.next_after


def test_a_batch_is_shown_a_window_at_a_time_with_its_whole_progress(nl: Settings, soap: Soap) -> None:  # noqa: F811
    numbers = seed_invoices(nl, count=5, customers=["C00001", "C00002", "C99999", "C00004", "C00005"])
    batch = _batch_id(nl)
    windows = _walk(nl, batch, 2)
    by_key = [numbers[0], numbers[1], numbers[3], numbers[4], numbers[2]]  # invoice keys: customer C99999 last
    assert [[r.number for r in w.rows] for w in windows] == [by_key[0:2], by_key[2:4], by_key[4:5]]
    last = batch_export(nl, actor(nl, "finn"), batch, before="", per_page=2)  # ?before= : the last window
    assert [r.number for r in last.rows] == by_key[3:5] and last.page.has_previous and not last.page.has_next

    counter = soap.app.faults.arm(SOAP, kind="status", after=10**9)  # never fires: counts the ERP look-ups
    window = batch_export(nl, actor(nl, "finn"), batch, preview=True, per_page=2)
    shown = counter.seen
    whole = batch_export(nl, actor(nl, "finn"), batch, preview=True, per_page=5)
    assert [r.kind for r in window.rows] == ["create", "create"] and len(whole.rows) == 5
    assert shown * 5 == (counter.seen - shown) * 2 > 0  # the preview looks up the invoices shown, no others

    run(nl, batch=batch)  # C99999 is not a customer in the ERP: its invoice fails, the others are sent
    windows = _walk(nl, batch, 2)
    assert [w.counts() for w in windows] == [{"total": 5, "done": 4, "failed": 1, "waiting": 0}] * 3
    assert [[r.status for r in w.rows] for w in windows] == [["sent", "sent"], ["sent", "sent"], ["failed"]]
