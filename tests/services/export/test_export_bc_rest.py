"""The outbox to Business Central API v2.0 (de-gmbh, posting on) over TLS with Entra tokens, built from config by
``services.export.targets``: exactly once and posted once under throttling, 5xx, lost answers and expired tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from config import Settings
from config.loader import parse_settings
from erp_export.base import RetryPolicy
from sandbox import bc_rest as bc_sandbox
from sandbox import entra
from sandbox.core import Clock as SandboxClock
from sandbox.core import SandboxServer
from sandbox.tls import TlsFiles, make_tls_files
from services.batches import approve_batch
from services.clock import FixedClock
from services.export import ExportOutcome, erp_reference, export_invoices
from services.operations import initialise
from tests.conftest import demo_config_data
from tests.identity import actor
from tests.services.batches.test_credit_notes import MAY, invoices, seats_lowered_after_export
from tests.services.export.test_export_outbox import NOW, exports, seed_invoices, statuses

POLICY = RetryPolicy(attempts=4, base_delay=0.05, max_delay=1.0, settle=1.0)
INVOICES = r"/[^/]+/[^/]+/api/v2\.0/companies\([0-9a-f-]+\)/salesInvoices"


class Bc:
    def __init__(self, app: Any, server: SandboxServer, entra_server: SandboxServer, tls: TlsFiles) -> None:
        self.app, self.server, self.entra_server, self.tls = app, server, entra_server, tls

    @property
    def api_url(self) -> str:
        return f"{self.server.url}{bc_sandbox.PREFIX}/{entra.TENANT_ID}/{bc_sandbox.ENVIRONMENT}/api/v2.0"

    def invoices(self, ref: str, kind: str = "invoices") -> list[dict[str, Any]]:
        """Our documents in BC by external reference: ``invoices`` or ``creditMemos``."""
        text = requests.get(f"{self.server.url}{bc_sandbox.PREFIX}/__admin/state", verify=str(self.tls.ca_cert),
                            timeout=5).text
        return [i for i in json.loads(text, parse_float=Decimal)[kind] if i["externalDocumentNumber"] == ref]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def bc(tls: TlsFiles) -> Iterator[Bc]:
    clock = SandboxClock()
    entra_server = SandboxServer(entra.build(clock), tls=tls, prefix=entra.PREFIX).start()
    app = bc_sandbox.build(clock, seed=1)
    server = SandboxServer(app, tls=tls, prefix=bc_sandbox.PREFIX).start()
    try:
        yield Bc(app, server, entra_server, tls)
    finally:
        server.stop()
        entra_server.stop()


@pytest.fixture
def de(settings: Settings, bc: Bc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The demo config: de-gmbh exports to the BC REST sandbox; its 19 % rate is named after BC's DE19 group."""
    monkeypatch.setenv("CSPBILL_BC_CLIENT_ID", entra.CREDENTIALS["client_id"])
    monkeypatch.setenv("CSPBILL_BC_CLIENT_SECRET", entra.CREDENTIALS["client_secret"])
    data = demo_config_data()
    data["database"] = {"url": settings.database_url(), "url_env": None}
    tenant = next(t for t in data["tenants"] if t["code"] == "de-gmbh")
    tenant.update(vat_rates={"de19": "19", "zero": "0"}, default_vat_rate="de19")
    tenant["erp"].update(base_url=bc.api_url, company=bc_sandbox.COMPANY_NAME, ca_bundle=str(bc.tls.ca_cert))
    for source in data["sources"]:
        if source["kind"] in ("partner_center", "azure_costs"):
            source["authority_url"] = f"{bc.entra_server.url}/{entra.TENANT_ID}"
    configured = parse_settings(data, tmp_path / "config.yaml")
    initialise(configured)
    return configured


def run(settings: Settings) -> list[ExportOutcome]:
    summaries = export_invoices(settings, actor(settings, "greta"), "de-gmbh", clock=FixedClock(NOW), policy=POLICY)
    return [outcome for summary in summaries for outcome in summary.outcomes]


FAULTS = {
    "none": None,
    "429 on create": (f"POST {INVOICES}", {"kind": "status", "status": 429, "headers": {"Retry-After": "0"}}),
    "503 on look-up": (f"GET {INVOICES}", {"kind": "status", "status": 503, "headers": {"Retry-After": "0"}}),
    "create applied, answer lost": (f"POST {INVOICES}", {"kind": "apply_then_drop"}),
    "post applied, answer lost": (rf"POST {INVOICES}\([0-9a-f-]+\)/Microsoft\.NAV\.post", {"kind": "apply_then_drop"}),
    "expired token on look-up": (f"GET {INVOICES}", {"kind": "expire_token"}),
    "expired token on create": (f"POST {INVOICES}", {"kind": "expire_token"}),
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_posted_exactly_once_with_our_totals(de: Settings, bc: Bc, fault: tuple[str, dict[str, Any]] | None) -> None:
    numbers = seed_invoices(de, tenant="de-gmbh", count=2, rates=("19",), customers=["C00011", "C00012"])
    if fault:
        bc.app.faults.arm(fault[0], **fault[1])
    outcomes = run(de)
    assert {o.action for o in outcomes} <= {"created", "adopted", "posted"}, outcomes
    assert bc.app.faults.listing() == []  # the fault did fire
    for number in numbers:
        [invoice] = bc.invoices(erp_reference("de-gmbh", number))
        assert invoice["status"] == "Open"  # posted once: a second post would be a 400 from BC
        assert (Decimal(str(invoice["totalAmountExcludingTax"])), Decimal(str(invoice["totalTaxAmount"]))) == \
            (Decimal("811.67"), Decimal("154.22"))
    assert [(r.status, r.erp_status) for r in exports(de)] == [("sent", "posted")] * 2
    assert set(statuses(de).values()) == {"exported"}
    assert run(de) == []


CREDIT_MEMOS = r"/[^/]+/[^/]+/api/v2\.0/companies\([0-9a-f-]+\)/salesCreditMemos"


@pytest.mark.parametrize("fault", [None, (f"POST {CREDIT_MEMOS}", {"kind": "apply_then_drop"})],
                         ids=["none", "create applied, answer lost"])
def test_a_negative_invoice_lands_once_as_a_posted_sales_credit_memo(de: Settings, bc: Bc,
                                                                     fault: tuple[str, dict[str, Any]] | None) -> None:
    seats_lowered_after_export(de, "de-gmbh", "scheduler", "greta", names=("C00011", "C00012"))
    approve_batch(de, "de-gmbh", "2026-05", actor(de, "greta"), MAY)
    found = invoices(de)
    credit, charge = found["C00011/2026-05"], found["C00012/2026-05"]
    assert credit.document_type == "381"
    if fault:
        bc.app.faults.arm(fault[0], **fault[1])
    outcomes = run(de)
    assert {o.action for o in outcomes} <= {"created", "adopted", "posted"}, outcomes
    credit_ref = erp_reference("de-gmbh", credit.number)
    [memo] = bc.invoices(credit_ref, "creditMemos")
    assert bc.invoices(credit_ref) == []  # never as a sales invoice
    assert memo["status"] == "Open" and memo["creditMemoDate"] == "2026-06-02"
    assert (Decimal(str(memo["totalAmountExcludingTax"])), Decimal(str(memo["totalTaxAmount"]))) == \
        (-credit.net, -credit.vat)  # BC's credit memo states the credited amounts positively
    assert all(Decimal(str(line["unitPrice"])) >= 0 for line in memo["salesCreditMemoLines"])
    [invoice] = bc.invoices(erp_reference("de-gmbh", charge.number))
    assert Decimal(str(invoice["totalAmountExcludingTax"])) == charge.net
    assert set(statuses(de).values()) == {"exported"}
    assert run(de) == []  # a re-run sends nothing twice
    assert len(bc.invoices(credit_ref, "creditMemos")) == 1
