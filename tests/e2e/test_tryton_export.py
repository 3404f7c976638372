"""A real ERP end to end: approved ledger invoices posted into Tryton 8.2 over its JSON-RPC API by the outbox.

Tryton (pinned in the ``dev`` extra) runs on a throwaway SQLite database served on loopback by ``trytond``. The
template database (modules activated, company, chart of accounts, fiscal year 2026 with invoice sequences, 21/9/0 %
taxes, customers ``C00001``..``C00005``, a payment term) is built once per session with ``trytond-admin`` and
proteus in a subprocess, then copied for each test, so a test pays only for starting the server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from sqlalchemy import select

from config import Settings
from config.loader import parse_settings
from config.schema import Tenant as TenantConfig
from erp_export.base import RetryPolicy
from erp_export.tryton import TrytonConfig, TrytonExporter
from ledger.models import Customer, Export, Invoice
from services.export import ErpTarget, ExportOutcome, erp_reference, export_invoices
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.conftest import demo_config_data, sqlite_only
from tests.identity import actor, people_env
from tests.ports import free_port
from tests.services.export.test_export_outbox import seed_invoices

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
DATABASE = "erp"
ADMIN_PASSWORD = "tryton-admin-e2e"
TAXES = {"S:21": "VAT 21%", "S:9": "VAT 9%", "Z:0": "VAT 0%"}
POLICY = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.5, settle=0.5)

BOOTSTRAP = """
import datetime as dt, json, sys
from decimal import Decimal
from proteus import Model, config as pconfig
from trytond.modules.company.tests.tools import create_company, get_company
from trytond.modules.account.tests.tools import create_chart, create_fiscalyear, create_tax, get_accounts
from trytond.modules.account_invoice.tests.tools import set_fiscalyear_invoice_sequences, create_payment_term

conf, database, out = sys.argv[1:4]
cfg = pconfig.set_trytond(database, config_file=conf)
create_company(currency="EUR", config=cfg)
create_chart(config=cfg)
fiscalyear = set_fiscalyear_invoice_sequences(create_fiscalyear(today=(dt.date(2026, 1, 1), dt.date(2026, 12, 31))))
fiscalyear.click("create_period")
accounts = get_accounts()
for rate in ("21", "9", "0"):
    tax = create_tax(Decimal(rate) / 100)
    tax.name = tax.description = f"VAT {rate}%"
    tax.save()
Party = Model.get("party.party")
for n in range(1, 6):
    Party(name=f"Customer C{n:05d}", code=f"C{n:05d}").save()
create_payment_term().save()
json.dump({"revenue_account": accounts["revenue"].code, "company": get_company().id}, open(out, "w"))
"""


def config_text(folder: Path, port: int) -> str:
    return (f"[database]\nuri = sqlite://\npath = {folder}\n[web]\nlisten = 127.0.0.1:{port}\n"
            "[session]\nauthentications = password\n")


@pytest.fixture(scope="session")
def tryton_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The bootstrapped database file, built once per session (about 15 s)."""
    folder = tmp_path_factory.mktemp("tryton-template")
    conf = folder / "trytond.conf"
    conf.write_text(config_text(folder, 0), encoding="utf-8")
    (folder / f"{DATABASE}.sqlite").touch()
    passfile = folder / "admin.pass"
    passfile.write_text(ADMIN_PASSWORD, encoding="utf-8")
    env = {"TRYTONPASSFILE": str(passfile), "PATH": str(BIN)}
    subprocess.run([str(BIN / "trytond-admin"), "-c", str(conf), "-d", DATABASE, "--all", "--email",
                    "admin@example.com", "-u", "account_invoice", "--activate-dependencies"],
                   check=True, env=env, capture_output=True, timeout=300)
    info = folder / "info.json"
    subprocess.run([sys.executable, "-c", BOOTSTRAP, str(conf), DATABASE, str(info)], check=True, env=env,
                   capture_output=True, timeout=300)
    return folder / f"{DATABASE}.sqlite", json.loads(info.read_text(encoding="utf-8"))


@dataclass
class Tryton:
    url: str
    info: dict[str, Any]

    def exporter(self) -> TrytonExporter:
        return TrytonExporter(TrytonConfig(url=self.url, database=DATABASE, username="admin",
                                           password=ADMIN_PASSWORD, taxes=TAXES, payment_term="Direct"))

    def target(self, settings: Settings, tenant: TenantConfig) -> ErpTarget:
        """The outbox target for nl-bv: this Tryton, posting, revenue on the chart's revenue account."""
        return ErpTarget(name="tryton", exporter=self.exporter(), post=True,
                         revenue_account=self.info["revenue_account"])

    def invoices(self, reference: str) -> list[dict[str, Any]]:
        exporter = self.exporter()
        rows = exporter.call("model.account.invoice.search_read", [["reference", "=", reference]], 0, None, None,
                             ["state", "number", "party.code", "untaxed_amount", "tax_amount", "total_amount",
                              "lines", "taxes"])
        for row in rows:
            row["line_rows"] = exporter.call("model.account.invoice.line.read", row["lines"],
                                             ["note", "quantity", "unit_price", "amount", "taxes"])
            row["tax_rows"] = exporter.call("model.account.invoice.tax.read", row["taxes"], ["base", "amount"])
        return rows


@pytest.fixture
def tryton(tryton_template: tuple[Path, dict[str, Any]], tmp_path: Path) -> Iterator[Tryton]:
    template, info = tryton_template
    folder = tmp_path / "tryton"
    folder.mkdir()
    shutil.copy(template, folder / f"{DATABASE}.sqlite")
    port = free_port()
    conf = folder / "trytond.conf"
    conf.write_text(config_text(folder, port), encoding="utf-8")
    log = (folder / "trytond.log").open("w")
    server = subprocess.Popen([str(BIN / "trytond"), "-c", str(conf), "-d", DATABASE], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.post(f"{url}/{DATABASE}/rpc/", json={"id": 0, "method": "common.server.version",
                                                              "params": []}, timeout=2)
                break
            except requests.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((folder / "trytond.log").read_text()) from None
                time.sleep(0.1)
        yield Tryton(url, info)
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@pytest.fixture
def nl(settings: Settings) -> Settings:
    initialise(settings)
    return settings


def export(settings: Settings, tryton: Tryton, **options: Any) -> list[ExportOutcome]:
    summaries = export_invoices(settings, actor(settings, "finn"), "nl-bv", targets=tryton.target, policy=POLICY,
                                **options)
    return [outcome for summary in summaries for outcome in summary.outcomes]


def ledger_view(settings: Settings) -> dict[str, Any]:
    with UnitOfWork(engine_for(settings)) as uow:
        customers = {c.id: c.reference for c in uow.session.scalars(select(Customer))}
        return {i.number: {"customer": customers[i.customer_id], "totals": (i.net, i.vat, i.gross),
                           "lines": sorted((ln.line_key, ln.quantity, ln.unit_price, ln.amount) for ln in i.lines)}
                for i in uow.session.scalars(select(Invoice))}


class Crash(Exception):
    pass


@sqlite_only  # the outbox on both databases: tests/services/export
def test_a_batch_is_posted_into_tryton_exactly_once_with_our_totals_vat_and_lines(nl: Settings,
                                                                                   tryton: Tryton) -> None:
    numbers = seed_invoices(nl, count=3, rates=("21", "9"), prices=("31.20", "10.50"))

    def crash_on_second(outcome: ExportOutcome) -> None:
        if outcome.invoice_number == numbers[1]:
            raise Crash("died after Tryton posted the invoice, before our commit")

    with pytest.raises(Crash):
        export(nl, tryton, after_send=crash_on_second)
    outcomes = export(nl, tryton)
    assert [(o.invoice_number, o.action) for o in outcomes] == [(numbers[1], "adopted"), (numbers[2], "created")]

    expected = ledger_view(nl)
    for number in numbers:
        found = tryton.invoices(erp_reference("nl-bv", number))
        assert len(found) == 1, f"{len(found)} Tryton invoices for {number}"
        invoice, ours = found[0], expected[number]
        assert invoice["state"] == "posted" and invoice["number"]
        assert invoice["party."]["code"] == ours["customer"]
        assert (invoice["untaxed_amount"], invoice["tax_amount"], invoice["total_amount"]) == ours["totals"]
        assert sorted((ln["note"], Decimal(str(ln["quantity"])), ln["unit_price"], ln["amount"])
                      for ln in invoice["line_rows"]) == ours["lines"]
        # VAT per rate over the invoice: 21 % of the first line, 9 % of the second
        assert sorted(row["amount"] for row in invoice["tax_rows"]) == sorted(
            [(Decimal("780.00") * Decimal("0.21")).quantize(Decimal("0.01")),
             (Decimal("31.50") * Decimal("0.09")).quantize(Decimal("0.01"))])

    with UnitOfWork(engine_for(nl)) as uow:
        rows = list(uow.session.scalars(select(Export).order_by(Export.id)))
        assert [(r.target, r.status, r.erp_status) for r in rows] == [("tryton", "sent", "posted")] * 3
        assert {i.status for i in uow.session.scalars(select(Invoice))} == {"exported"}

    assert export(nl, tryton) == []
    assert export(nl, tryton, dry_run=True) == []
    assert all(len(tryton.invoices(erp_reference("nl-bv", n))) == 1 for n in numbers)


@sqlite_only  # the outbox on both databases: tests/services/export
def test_tryton_rounding_a_line_otherwise_is_flagged_and_not_posted(nl: Settings, tryton: Tryton) -> None:
    # 3 x 10.555 = 31.665: cspbill rounds the line half up (31.67), Tryton half even (31.66)
    [number] = seed_invoices(nl, count=1)
    [outcome] = export(nl, tryton)
    assert outcome.action == "failed" and "ERP totals differ: total_net: ERP" in (outcome.error or "")
    [invoice] = tryton.invoices(erp_reference("nl-bv", number))
    assert invoice["state"] == "draft"
    assert export(nl, tryton) == []  # a person decides; nothing is retried on its own


def test_a_tenant_configured_with_erp_kind_tryton_exports_through_the_cli(tryton: Tryton, tmp_path: Path) -> None:
    """``erp.kind: tryton`` in config.yaml: `cspbill export` builds the adapter from config (database, user and
    password from the environment, revenue account and Tryton taxes from the mapping) and posts into Tryton."""
    data = demo_config_data()
    data["database"] = {"url": f"sqlite:///{tmp_path / 'ledger.db'}", "url_env": None}
    for tenant in data["tenants"]:
        tenant["erp"] = {"kind": "none"}
    data["tenants"][0]["erp"] = {
        "kind": "tryton", "base_url": tryton.url, "company": DATABASE, "post_invoices": True,
        "username_env": "CSPBILL_TRYTON_USER", "password_env": "CSPBILL_TRYTON_PASSWORD",
        "revenue_account": tryton.info["revenue_account"],
        "vat_codes": {"S 21": "VAT 21%", "S 9": "VAT 9%", "Z 0": "VAT 0%"},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSPBILL_")}
    env.update(CSPBILL_CONFIG=str(path), CSPBILL_TRYTON_USER="admin", CSPBILL_TRYTON_PASSWORD=ADMIN_PASSWORD)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "cspbill"), *args], capture_output=True, text=True, env=env, timeout=180)

    assert cli("init").returncode == 0
    env.update(people_env(path))  # finn signed in on the initialised ledger
    numbers = seed_invoices(parse_settings(data, path), count=2, rates=("21", "9"), prices=("31.20", "10.50"))
    done = cli("export", "--tenant", "nl-bv", "--as", "finn")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tryton" in done.stdout and done.stdout.count(": created") == 2
    for number in numbers:
        [invoice] = tryton.invoices(erp_reference("nl-bv", number))
        assert invoice["state"] == "posted" and invoice["party."]["code"].startswith("C0000")
