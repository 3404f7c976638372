"""Business Central bulk export: search-then-create for many invoices in ``$batch`` rounds (erp.md §3).

Why apart from ``erp_export.bc_rest``: the exporter speaks the one-document ``ErpExporter`` protocol; the outbox's bulk
path keeps per-document state across rounds. Each round sends up to 100 look-ups per ``$batch``, then up to 100 deep
inserts per ``$batch`` for the invoices that were not found, then single updates or posts for drafts that differ.
Anything whose outcome is unknown (a batch of creates whose answer was lost, a 5xx inside it) is looked up again in
the next round, never re-sent blindly. When any operation of a create batch failed, the others' 201s are not
trusted (BC may roll a batch back and still report them as succeeded): each is looked up before it is recorded.
Rounds are bounded and paced by the ``RetryPolicy`` (``connectors.retry``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tenacity import RetryCallState, retry_if_result

from erp_export.base import (
    ErpDocumentRef,
    ErpError,
    ErpOutcomeUnknown,
    ErpUnavailable,
    ExportResult,
    RetryPolicy,
    decide,
)
from erp_export.documents import InvoiceDocument

if TYPE_CHECKING:
    from erp_export.bc_rest import BcRestExporter


def export_many(exporter: BcRestExporter, docs: Iterable[InvoiceDocument], *, post: bool = False,
                policy: RetryPolicy | None = None,
                sleep: Callable[[float], None] = time.sleep) -> dict[str, ExportResult | ErpError]:
    """Search-then-create in bulk; per document the same outcome as ``export_document``.

    Each round: batched look-ups for every pending document, batched deep inserts for those not found,
    single updates/posts for drafts that differ. Retryable failures and unknown outcomes stay pending for the
    next round (bounded by ``policy.attempts``); rejections are final.
    """
    policy = policy or RetryPolicy()
    backoff = policy.backoff
    run = _BulkRun({doc.external_ref: doc for doc in docs}, post)

    def one_round(number: int) -> None:
        run.attempt, run.waits = number - 1, []
        for chunk in _chunks(list(run.pending.values()), exporter.config.batch_size):
            try:
                _round(exporter, chunk, run)
            except ErpOutcomeUnknown:
                run.waits.append(policy.settle)
            except ErpUnavailable as exc:
                run.waits.append(exc.retry_after)

    def wait(state: RetryCallState) -> float:
        hints = [w for w in run.waits if w is not None]
        return backoff.delay(state.attempt_number, max(hints) if hints else None)

    backoff.run(one_round, retry_if_result(lambda _: bool(run.pending)), wait=wait, sleep=sleep,
                exhausted=lambda state: None)
    for external_ref in run.pending:
        run.results[external_ref] = ErpUnavailable(exporter.target, f"{external_ref}: still pending after "
                                                                    f"{policy.attempts} rounds")
    return run.results


def _round(exporter: BcRestExporter, chunk: list[InvoiceDocument], run: _BulkRun) -> None:
    missing: list[InvoiceDocument] = []
    for doc, found in _look_up(exporter, chunk, run):
        if found is None:
            missing.append(doc)
        else:
            _settle(exporter, doc, found, run)
    if not missing:
        return
    try:
        inserted = exporter.batch([{"method": "POST", "url": exporter.documents_path(doc.type_code),
                                    "body": exporter.payload(doc)} for doc in missing], write=True)
    except ErpOutcomeUnknown:
        run.uncertain.update(doc.external_ref for doc in missing)
        raise
    rolled_back = any(answer["status"] >= 400 for answer in inserted)
    unconfirmed: list[InvoiceDocument] = []
    for doc, answer in zip(missing, inserted, strict=True):
        created = run.guard(doc, lambda answer=answer, doc=doc: exporter.ref_of(
            exporter.answer_body(answer, write=True), doc.type_code))
        if created is _STOP:
            if answer["status"] >= 500:
                run.uncertain.add(doc.external_ref)
        elif rolled_back:
            unconfirmed.append(doc)  # BC may have rolled this back while answering 201
        else:
            run.created.add(doc.external_ref)
            _settle(exporter, doc, created, run)
    for doc, found in _look_up(exporter, unconfirmed, run):
        if found is not None:  # not found: it was rolled back and stays pending, to be created next round
            run.created.add(doc.external_ref)
            _settle(exporter, doc, found, run)


def _look_up(exporter: BcRestExporter, docs: list[InvoiceDocument],
             run: _BulkRun) -> list[tuple[InvoiceDocument, ErpDocumentRef | None]]:
    """One ``$batch`` of look-ups by external reference: each document with what BC holds (``None``: nothing);
    a document whose look-up failed is left out (kept pending or rejected by ``run.guard``)."""
    if not docs:
        return []
    looked = exporter.batch([{"method": "GET", "url": exporter.lookup_url(doc.external_ref, doc.type_code)}
                             for doc in docs])
    outcomes: list[tuple[InvoiceDocument, ErpDocumentRef | None]] = []
    for doc, answer in zip(docs, looked, strict=True):
        found = run.guard(doc, lambda answer=answer, doc=doc: exporter.only(doc.external_ref, exporter.answer_body(
            answer, write=False)["value"], doc.type_code))
        if found is not _STOP:
            outcomes.append((doc, found))
    return outcomes


def _settle(exporter: BcRestExporter, doc: InvoiceDocument, ref: ErpDocumentRef, run: _BulkRun) -> None:
    """A found or just-created document: update or post it if needed, then record the result."""

    def finish() -> ExportResult:
        current, action = ref, run.action(doc.external_ref)
        if action != "created" and decide(exporter, current, doc) == "update":
            current, action = exporter.update(current, doc), "updated"
        if run.post and current.status != "posted":
            current, action = exporter.post(current), "posted"
        return ExportResult(current, action, run.attempt + 1)  # type: ignore[arg-type]

    result = run.guard(doc, finish)
    if result is not _STOP:
        run.results[doc.external_ref] = result
        run.pending.pop(doc.external_ref)


_STOP = object()


@dataclass
class _BulkRun:
    """The state of one ``export_many``: what is pending, what is done, what we are unsure about."""

    pending: dict[str, InvoiceDocument]
    post: bool
    attempt: int = 0
    results: dict[str, ExportResult | ErpError] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    uncertain: set[str] = field(default_factory=set)  # a create was sent and its answer lost
    waits: list[float | None] = field(default_factory=list)

    def action(self, external_ref: str) -> str:
        if external_ref in self.created:
            return "created"
        return "adopted" if external_ref in self.uncertain else "skipped"

    def guard(self, doc: InvoiceDocument, step: Callable[[], Any]) -> Any:
        """Run one per-document step. ``_STOP`` means: nothing more for this document in this round (a retryable
        failure keeps it pending; a rejection is recorded as its result)."""
        try:
            return step()
        except (ErpUnavailable, ErpOutcomeUnknown) as exc:
            self.waits.append(getattr(exc, "retry_after", None))
            return _STOP
        except ErpError as exc:
            self.results[doc.external_ref] = exc
            self.pending.pop(doc.external_ref)
            return _STOP


def _chunks(items: list[InvoiceDocument], size: int) -> Iterable[list[InvoiceDocument]]:
    for start in range(0, len(items), size):
        yield items[start: start + size]
