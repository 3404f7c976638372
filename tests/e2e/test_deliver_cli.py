"""`cspbill deliver`, `deliver status` and `cspbill archive list|get|verify` through the real console script,
against the SMTP catcher and the Peppol access point sandbox: delivered once, re-sent on request, and a document
whose bytes were changed behind the triggers' back is named by `archive verify`."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from config.loader import parse_settings
from ledger import append_only
from sandbox import peppol_ap
from services.runtime import engine_for
from tests.cli import run_cli
from tests.conftest import demo_config_data
from tests.identity import people_env
from tests.services.delivery.support import API_KEY_ENV, Sandboxes, sandboxes, set_channel
from tests.services.export.test_export_outbox import seed_invoices

__all__ = ["sandboxes"]

CLI = str(Path(sys.executable).with_name("cspbill"))


@pytest.fixture
def config_file(tmp_path: Path, sandboxes: Sandboxes) -> Path:
    data = demo_config_data()
    data["database"] = {"url": f"sqlite:///{tmp_path / 'ledger.db'}", "url_env": None}
    for tenant in data["tenants"]:
        tenant["erp"] = {"kind": "none"}
    data["tenants"][0]["delivery"] = {
        "smtp": {"host": sandboxes.smtp.host, "port": sandboxes.smtp.port, "starttls": False,
                 "from": "billing@wolkwerk.example"},
        "peppol": {"base_url": f"{sandboxes.ap.url}{peppol_ap.PREFIX}", "api_key_env": API_KEY_ENV,
                   "legal_entity_id": int(peppol_ap.CREDENTIALS["legal_entity_id"])}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSPBILL_")}
    env.update(CSPBILL_CONFIG=str(config), **{API_KEY_ENV: peppol_ap.CREDENTIALS["api_key"]}, **people_env(config))
    return run_cli(args, env=env)


def test_deliver_once_resend_and_verify_the_archive(config_file: Path, sandboxes: Sandboxes, tmp_path: Path) -> None:
    assert cli(config_file, "init").returncode == 0
    settings = parse_settings(yaml.safe_load(config_file.read_text(encoding="utf-8")), config_file)
    numbers = seed_invoices(settings, count=2)
    set_channel(settings, numbers[0], "email", email="ap@customer.example")
    set_channel(settings, numbers[1], "peppol", peppol=("0106", "87654321"))

    done = cli(config_file, "deliver", "--as", "finn")
    assert done.returncode == 0, done.stderr
    assert "deliver: 2 newly queued, 2 sent" in done.stdout
    again = cli(config_file, "deliver", "--as", "finn")
    assert again.returncode == 0 and "0 newly queued, 0 sent" in again.stdout
    assert len(sandboxes.smtp.messages()) == 1 and len(sandboxes.transmitted()) == 1

    status = json.loads(cli(config_file, "deliver", "status", "--json", "--as", "finn").stdout)
    assert {(r["invoice_number"], r["channel"], r["status"]) for r in status} == {
        (numbers[0], "email", "sent"), (numbers[1], "peppol", "sent")}
    mail_id = next(r["id"] for r in status if r["channel"] == "email")
    resent = cli(config_file, "deliver", "--resend", str(mail_id), "--as", "finn")
    assert resent.returncode == 0 and "1 sent" in resent.stdout
    assert len(sandboxes.smtp.messages()) == 2
    refused = cli(config_file, "deliver", "--as", "dana")
    assert refused.returncode == 1 and "lacks role 'export'" in refused.stderr

    listed = json.loads(cli(config_file, "archive", "list", "--json", "--as", "finn").stdout)
    assert sorted(e["filename"] for e in listed) == sorted([f"{numbers[0]}.pdf", f"{numbers[0]}.ubl.xml",
                                                           f"{numbers[1]}.ubl.xml"])
    ubl = next(e for e in listed if e["filename"] == f"{numbers[1]}.ubl.xml")
    got = cli(config_file, "archive", "get", str(ubl["id"]), "--out", str(tmp_path), "--as", "finn")
    assert got.returncode == 0, got.stderr
    assert hashlib.sha256((tmp_path / ubl["filename"]).read_bytes()).hexdigest() == ubl["sha256"]
    ok = cli(config_file, "archive", "verify", "--as", "finn")
    assert ok.returncode == 0 and "3 documents, every hash matches" in ok.stdout

    with engine_for(settings).begin() as connection:  # a database owner drops the triggers and edits a file
        append_only.drop(connection, ["archived_documents"])
        connection.execute(text("UPDATE archived_documents SET content = :c WHERE id = :i"),
                           {"c": b"<Invoice/>", "i": ubl["id"]})
    broken = cli(config_file, "archive", "verify", "--as", "finn")
    assert broken.returncode == 5
    assert f"document {ubl['id']} ({ubl['filename']}" in broken.stdout and "no longer matches" in broken.stdout
