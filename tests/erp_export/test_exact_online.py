"""The Exact Online exporter against its sandbox over TLS: exactly once under faults, rate limits, token rotation."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.token_store import TokenStore
from erp_export.base import (
    ErpAuthenticationFailed,
    ErpExporter,
    ErpOutcomeUnknown,
    ErpReconnectRequired,
    ErpRejected,
    ErpUnavailable,
    RetryPolicy,
    export_document,
)
from erp_export.documents import InvoiceDocument
from erp_export.exact_online import ExactConfig, ExactOnlineExporter, ForeignLink, allocate_vat
from sandbox import exact_online as sandbox
from sandbox.core import Clock, SandboxApp, SandboxServer
from sandbox.tls import TlsFiles
from tests.erp_export.conftest import serve
from tests.erp_export.samples import invoice, line

FAST = RetryPolicy(attempts=6, base_delay=0.05, max_delay=2.0, settle=1.5)
VAT_CODES = {"S:21": "2  ", "S:9": "1  ", "AE:0": "0  "}
ENTRIES = r"POST /api/v1/\d+/salesentry/SalesEntries"
LOOKUP = r"GET /api/v1/\d+/salesentry/SalesEntries"
TOKEN = "POST /api/oauth2/token"


class Exact:
    """One sandbox on TLS plus what a test needs to drive it."""

    def __init__(self, app: SandboxApp, server: SandboxServer, tls: TlsFiles, tmp: Path) -> None:
        self.app, self.server, self.tls, self.tmp = app, server, tls, tmp

    def config(self, **overrides: Any) -> ExactConfig:
        base = ExactConfig(base_url=self.server.url, client_id=sandbox.CREDENTIALS["client_id"],
                           client_secret=sandbox.CREDENTIALS["client_secret"], token_store=self.tmp / "exact.json",
                           vat_codes=VAT_CODES, verify=str(self.tls.ca_cert), timeout=3.0)
        return replace(base, **overrides)

    def exporter(self, **overrides: Any) -> ExactOnlineExporter:
        clock = self.app.clock
        return ExactOnlineExporter(self.config(**overrides), clock=lambda: clock.now().timestamp())

    def authorised(self, **overrides: Any) -> ExactOnlineExporter:
        exporter = self.exporter(**overrides)
        exporter.authorise(sandbox.CREDENTIALS["authorization_code"], sandbox.CREDENTIALS["redirect_uri"])
        return exporter

    def state(self) -> dict[str, Any]:
        text = requests.get(f"{self.server.url}/__admin/state", verify=str(self.tls.ca_cert), timeout=5).text
        return json.loads(text, parse_float=Decimal)

    def token_calls(self) -> int:
        return sum(1 for method, path in self.app.calls if (method, path) == ("POST", "/api/oauth2/token"))


def build_exact(clock: Clock, tls: TlsFiles, tmp: Path, state_dir: Path | None = None,
                **limits: Any) -> Iterator[Exact]:
    app = sandbox.build(clock, seed=3, state_dir=state_dir, **limits)
    for server in serve(app, sandbox.PREFIX, tls):
        yield Exact(app, server, tls, tmp)


@pytest.fixture
def exact(tls_files: TlsFiles, tmp_path: Path, state_dir: Path) -> Iterator[Exact]:
    yield from build_exact(Clock(), tls_files, tmp_path, state_dir, per_minute=1000)


def assert_once_and_right(exact: Exact, doc: InvoiceDocument) -> None:
    state = exact.state()
    entries = [e for e in state["entries"] if e["YourRef"] == doc.external_ref]
    assert len(entries) == 1, f"{len(entries)} copies of {doc.external_ref}"
    entry = entries[0]
    lines = [ln for ln in state["entry_lines"] if ln["EntryID"] == entry["EntryID"]]
    assert sorted((ln["Notes"], Decimal(str(ln["AmountFC"]))) for ln in lines) == sorted(
        (ln.key, ln.net_amount) for ln in doc.lines)
    assert Decimal(str(entry["VATAmountFC"])) == doc.total_vat
    assert Decimal(str(entry["AmountFC"])) == doc.total_gross


FAULTS = {
    "429 on create": (ENTRIES, {"kind": "status", "status": 429, "body": {"error": {"code": "", "message": {
        "lang": "", "value": "API rate limit exceeded."}}}}),
    "503 retry-after on lookup": (LOOKUP, {"kind": "status", "status": 503, "headers": {"Retry-After": "1"}}),
    "validation-looking 500 without body on lookup": (LOOKUP, {"kind": "status", "status": 500}),
    "unreadable 201 on create": (ENTRIES, {"kind": "status", "status": 201, "body": "<html>"}),
    "dropped before apply": (ENTRIES, {"kind": "drop"}),
    "applied then dropped": (ENTRIES, {"kind": "apply_then_drop"}),
    "slow create beyond the timeout": (ENTRIES, {"kind": "delay", "seconds": 3.5}),
    "expired token on lookup": (LOOKUP, {"kind": "expire_token"}),
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_every_invoice_lands_exactly_once_under_faults(exact: Exact, fault: tuple[str, dict[str, Any]]) -> None:
    exporter = exact.authorised()
    route, options = fault
    if options["kind"] == "expire_token":
        exact.app.clock.advance(seconds=601)  # the token really is past its 600 s, so a refresh is allowed
    exact.app.faults.arm(route, **options)
    doc = invoice(1)
    result = export_document(exporter, doc, policy=FAST)
    assert result.ref.totals_differ(doc) == []
    assert_once_and_right(exact, doc)
    assert export_document(exporter, doc, policy=FAST).action == "skipped"
    assert_once_and_right(exact, doc)


def test_per_line_vat_sums_to_the_per_rate_vat() -> None:
    doc = invoice(2, lines=tuple(line(n, "1", "0.05") for n in range(1, 8)))  # 7 x 0.0105 VAT: per line 0.01
    shares = allocate_vat(doc)
    assert sum(shares.values()) == doc.total_vat == Decimal("0.07")


def test_rate_limit_headers_are_respected_without_a_single_429(tls_files: TlsFiles, tmp_path: Path) -> None:
    for exact in build_exact(Clock(), tls_files, tmp_path, per_minute=4, minute_seconds=0.5):
        exporter = exact.authorised()
        docs = [invoice(n, customer=f"C0000{n}") for n in range(1, 4)]
        for doc in docs:
            export_document(exporter, doc, policy=FAST)
        for doc in docs:
            assert_once_and_right(exact, doc)
        assert exact.state()["throttled"] == 0
        assert exporter.limits.minutely_remaining is not None


def test_used_up_daily_budget_is_reported_not_slept_on(tls_files: TlsFiles, tmp_path: Path) -> None:
    for exact in build_exact(Clock(), tls_files, tmp_path, per_day=3):
        exporter = exact.authorised()
        with pytest.raises(ErpUnavailable, match="daily") as caught:
            for _ in range(4):
                exporter.find("CSP-NL01-202605-0001")
        assert caught.value.retry_after and caught.value.retry_after > 0
        assert exact.state()["throttled"] == 0


def test_item_based_sales_invoices(exact: Exact) -> None:
    exporter = exact.authorised(document_kind="SalesInvoices")
    doc = invoice(3)
    exact.app.faults.arm(r"POST /api/v1/\d+/salesinvoice/SalesInvoices", kind="apply_then_drop")
    result = export_document(exporter, doc, policy=FAST)
    assert result.ref.total_net == doc.total_net
    assert result.ref.total_gross == doc.total_gross
    invoices = [i for i in exact.state()["invoices"] if i["YourRef"] == doc.external_ref]
    assert len(invoices) == 1 and invoices[0]["OrderedBy"] == invoices[0]["InvoiceTo"]


def test_changed_entry_is_updated_without_ever_losing_its_last_line(exact: Exact) -> None:
    exporter = exact.authorised()
    export_document(exporter, invoice(4, lines=(line(1, "1", "10.00"),)), policy=FAST)
    changed = invoice(4, lines=(line(2, "2", "15.00"),))
    assert exporter.plan(changed) == "update"
    assert export_document(exporter, changed, policy=FAST).action == "updated"
    assert_once_and_right(exact, changed)


def test_plan_is_a_dry_run(exact: Exact) -> None:
    exporter = exact.authorised()
    before, seen = exact.state(), len(exact.app.calls)
    assert exporter.plan(invoice(5)) == "create"
    assert isinstance(exporter, ErpExporter)
    assert exact.state() == before
    assert {method for method, _ in exact.app.calls[seen:]} == {"GET"}


def test_unknown_customer_is_rejected(exact: Exact) -> None:
    with pytest.raises(ErpRejected, match="C99999"):
        export_document(exact.authorised(), invoice(6, customer="C99999"), policy=FAST)


# --- token rotation ------------------------------------------------------------------------------------------


def test_crash_after_store_before_use_survives(exact: Exact) -> None:
    exact.authorised()
    exact.app.clock.advance(seconds=601)
    exact.exporter().access_token()  # refreshed and stored; the process "dies" before using the token
    fresh_process = exact.exporter()
    assert fresh_process.find("CSP-NL01-202605-0001") is None  # the stored access token works
    exact.app.clock.advance(seconds=601)
    assert fresh_process.find("CSP-NL01-202605-0001") is None  # and so does the rotated refresh token
    assert exact.token_calls() == 3  # code grant + two refreshes


def test_crash_before_the_refresh_reached_exact_survives(exact: Exact) -> None:
    exact.authorised()
    exact.app.clock.advance(seconds=601)
    exact.app.faults.arm(TOKEN, kind="drop")
    with pytest.raises(ErpOutcomeUnknown):
        exact.exporter().access_token()
    assert TokenStore(exact.config().token_store).read().refresh_started_at is not None  # type: ignore[union-attr]
    exact.exporter().access_token()  # the old refresh token was never consumed
    assert TokenStore(exact.config().token_store).read().refresh_started_at is None  # type: ignore[union-attr]


def test_crash_between_rotation_and_store_asks_for_reauthorisation_once(exact: Exact) -> None:
    """The unavoidable window with single-use tokens: Exact rotated, the answer never reached the store."""
    exact.authorised()
    exact.app.clock.advance(seconds=601)
    exact.app.faults.arm(TOKEN, kind="apply_then_drop")
    with pytest.raises(ErpOutcomeUnknown):
        exact.exporter().access_token()
    calls = exact.token_calls()
    exact.app.clock.advance(seconds=601)
    with pytest.raises(ErpAuthenticationFailed, match="re-authorise"):
        exact.exporter().access_token()
    assert exact.token_calls() == calls + 1  # one refused attempt, no hammering of the 200-a-day budget
    assert TokenStore(exact.config().token_store).read() is not None  # the file is intact, not half-written
    requests.post(f"{exact.server.url}/__admin/reauthorise", verify=str(exact.tls.ca_cert), timeout=5)
    assert exact.authorised().find("CSP-NL01-202605-0001") is None  # after a person re-authorised


def test_concurrent_processes_refresh_once(exact: Exact) -> None:
    exact.authorised()
    exact.app.clock.advance(seconds=601)
    before = exact.token_calls()
    tokens: list[str] = []
    workers = [threading.Thread(target=lambda: tokens.append(exact.exporter().access_token())) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(set(tokens)) == 1
    assert exact.token_calls() == before + 1


def test_state_survives_a_restart(exact: Exact, state_dir: Path, tls_files: TlsFiles, tmp_path: Path) -> None:
    doc = invoice(7)
    export_document(exact.authorised(), doc, policy=FAST)
    for reborn in build_exact(Clock(), tls_files, tmp_path, state_dir, per_minute=1000):
        assert export_document(reborn.exporter(), doc, policy=FAST).action == "skipped"
        assert_once_and_right(reborn, doc)


def test_strict_mode_blocks_an_endpoint_after_ten_errors(tls_files: TlsFiles, tmp_path: Path) -> None:
    for exact in build_exact(Clock(), tls_files, tmp_path, strict=True):
        exporter = exact.authorised()
        token, verify = exporter.access_token(), str(tls_files.ca_cert)
        missing = "00000000-0000-0000-0000-000000000000"
        url = f"{exact.server.url}/api/v1/{sandbox.DIVISION}/salesentry/SalesEntries(guid'{missing}')"
        statuses = [requests.delete(url, headers={"Authorization": f"Bearer {token}"}, verify=verify,
                                    timeout=5).status_code for _ in range(11)]
        assert statuses == [404] * 10 + [429]
        with pytest.raises(ErpUnavailable, match="blocked"):  # why the exporter never probes by id
            exporter.find("CSP-NL01-202605-0001")


def test_a_write_interrupted_before_the_rename_leaves_the_old_tokens(exact: Exact) -> None:
    exact.authorised()
    path = exact.config().token_store
    before = TokenStore(path).read()
    (path.parent / f".{path.name}.crashed").write_text('{"refresh_token": "half-writ')  # a temp file, never renamed
    assert TokenStore(path).read() == before
    assert exact.exporter().find("CSP-NL01-202605-0001") is None


@pytest.mark.parametrize(("kind", "seq"), [("SalesEntries", 90), ("SalesInvoices", 91)])
def test_a_credit_note_is_type_21_with_negative_amounts_and_lands_once(exact: Exact, kind: str, seq: int) -> None:
    """Exact's sign convention for credit notes (SalesEntries ``Type`` 21, SalesInvoices 8021): the type does not
    flip signs, so the credited amounts and quantities go in negative; we read them back as the document states them
    (positive), so a re-export matches and sends nothing."""
    exporter = exact.authorised(document_kind=kind)
    doc = replace(invoice(seq, lines=(line(1, "19", "33.35"), line(2, "1", "12.00", rate="9"))), type_code="381")
    result = export_document(exporter, doc, policy=FAST)
    assert result.ref.type_code == "381" and result.ref.totals_differ(doc) == []
    assert export_document(exporter, doc, policy=FAST).action == "skipped"
    state = exact.state()
    documents, lines, key = (("entries", "entry_lines", "EntryID") if kind == "SalesEntries"
                             else ("invoices", "invoice_lines", "InvoiceID"))
    [entry] = [e for e in state[documents] if e["YourRef"] == doc.external_ref]
    assert entry["Type"] == (21 if kind == "SalesEntries" else 8021)
    assert Decimal(str(entry["AmountFC"])) == -doc.total_gross < 0
    assert Decimal(str(entry["VATAmountFC"])) == -doc.total_vat
    mine = [ln for ln in state[lines] if ln[key] == entry[key]]
    assert sorted(Decimal(str(ln["AmountFC"])) for ln in mine) == sorted(-ln.net_amount for ln in doc.lines)
    assert all(Decimal(str(ln["Quantity"])) < 0 for ln in mine)


def test_absolute_next_links_are_followed_on_the_configured_host(exact: Exact) -> None:
    """Exact's ``__next`` is an absolute URL (user reports: picqer/exact-php-client#35); all pages are read."""
    exporter = exact.authorised()
    doc = invoice(40)
    for _ in range(61):  # nothing in Exact makes YourRef unique: 61 entries need two pages of 60
        exporter.create(doc)
    assert len(exporter.find_all(doc.external_ref)) == 61
    followed = [query for method, path, query in ((r.method, r.path, r.query) for r in exact.app.received)
                if method == "GET" and path.endswith("/SalesEntries") and "$skiptoken" in query]
    assert followed


def test_a_next_link_to_another_host_is_refused_with_a_typed_error(exact: Exact) -> None:
    exporter = exact.authorised()
    exact.app.faults.arm(LOOKUP, kind="status", status=200, body={"d": {
        "results": [], "__next": "https://elsewhere.example/api/v1/1234567/salesentry/SalesEntries?$skiptoken=1"}})
    with pytest.raises(ForeignLink, match=r"elsewhere\.example"):
        exporter.find("CSP-NL01-202605-0041")


def test_an_old_refresh_token_asks_a_person_to_connect_again(exact: Exact) -> None:
    """A restored backup of the token file holds a refresh token Exact already rotated: the live API answers 401
    "Old refresh token used." (user reports: picqer/exact-php-client#300, #640)."""
    exact.authorised()
    backup = exact.config().token_store.read_text("utf-8")
    exact.app.clock.advance(seconds=601)
    exact.exporter().access_token()  # rotates: the backed-up refresh token is now old
    exact.config().token_store.write_text(backup, "utf-8")
    exact.app.clock.advance(seconds=601)
    exporter = exact.exporter(connection="tenant 'nl-bv'", reconnect_hint="cspbill erp connect --tenant nl-bv")
    with pytest.raises(ErpReconnectRequired, match=r"tenant .nl-bv.*Old refresh token used.*erp connect") as caught:
        exporter.find("CSP-NL01-202605-0042")
    assert caught.value.target == "exact_online"


def test_an_update_rereads_the_entry_by_its_guid(exact: Exact) -> None:
    exporter = exact.authorised()
    first = export_document(exporter, invoice(43, lines=(line(1, "1", "10.00"),)), policy=FAST)
    changed = invoice(43, lines=(line(2, "2", "15.00"),))
    before = len(exact.app.received)
    ref = exporter.update(first.ref, changed)
    assert ref.erp_id == first.ref.erp_id and ref.total_net == changed.total_net
    paths = [r.path for r in exact.app.received[before:] if r.method == "GET"]
    assert any(path.endswith(f"SalesEntries(guid'{first.ref.erp_id}')") for path in paths)
    assert_once_and_right(exact, changed)
