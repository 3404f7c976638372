"""`cspbill einvoice --format ubl|cii|facturx|xrechnung|pdf` through the real console script: one file per
approved invoice of the batch, each XML (and the XML inside the Factur-X PDF) free of fatal findings under the
official EN 16931 and Peppol BIS 3 rules; the plain PDF is a PDF/A-3 with embedded fonts."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from config.loader import parse_settings
from tests.cli import run_cli
from tests.conftest import demo_config_data
from tests.einvoice_rules import fatal_findings, pdfa3_problems, rules_or_skip
from tests.identity import people_env
from tests.services.export.test_einvoice_validation import CASES

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).with_name("cspbill"))


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    data = demo_config_data()
    data["database"] = {"url": f"sqlite:///{tmp_path / 'ledger.db'}", "url_env": None}
    for tenant in data["tenants"]:
        tenant["erp"] = {"kind": "none"}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def cli(config: Path, *args: str, process: bool = False) -> subprocess.CompletedProcess[str]:
    """``cspbill ARGS`` in this process (``tests.cli``) or, with ``process``, through the real console script."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSPBILL_")}
    env.update(CSPBILL_CONFIG=str(config), **people_env(config))
    if process:
        return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=300)
    return run_cli(args, env=env)


def test_every_format_of_a_batch_through_the_cli(config_file: Path, tmp_path: Path) -> None:
    rules_or_skip()
    assert cli(config_file, "init").returncode == 0
    settings = parse_settings(yaml.safe_load(config_file.read_text(encoding="utf-8")), config_file)
    CASES["credit note with the invoice it corrects"][1](settings)  # the May invoice and the June credit note
    out = tmp_path / "files"
    for month in ("2026-05", "2026-06"):
        for fmt in ("ubl", "cii", "facturx", "xrechnung", "pdf"):
            done = cli(config_file, "einvoice", "--tenant", "nl-bv", "--batch", month, "--format", fmt,
                       "--out", str(out), "--as", "anna", process=(month, fmt) == ("2026-05", "ubl"))
            assert done.returncode == 0, done.stderr
            assert f"1 {fmt} file(s) written" in done.stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"NL2026-0000{n}{suffix}" for n in (1, 4)
                           for suffix in (".ubl.xml", ".cii.xml", ".pdf", ".xrechnung.xml", ".plain.pdf"))
    for path in out.iterdir():
        if path.name.endswith(".plain.pdf"):
            assert pdfa3_problems(path.read_bytes()) == []
            continue
        findings = fatal_findings(path.read_bytes(), peppol=not path.name.endswith(".xrechnung.xml"))
        assert findings == {}, f"{path.name}: {findings}"


def test_a_file_written_twice_is_the_archived_issue(config_file: Path, tmp_path: Path) -> None:
    """`cspbill einvoice` issues through the archive: writing the batch again gives the same bytes, whose SHA-256 is
    the archived document's (`cspbill archive list`)."""
    assert cli(config_file, "init").returncode == 0
    settings = parse_settings(yaml.safe_load(config_file.read_text(encoding="utf-8")), config_file)
    CASES["credit note with the invoice it corrects"][1](settings)
    for fmt in ("facturx", "cii"):
        for out in ("first", "second"):
            done = cli(config_file, "einvoice", "--tenant", "nl-bv", "--batch", "2026-06", "--format", fmt,
                       "--out", str(tmp_path / out), "--as", "anna")
            assert done.returncode == 0, done.stderr
    listed = cli(config_file, "archive", "list", "--tenant", "nl-bv", "--json", "--as", "anna")
    assert listed.returncode == 0, listed.stderr
    archived = {entry["kind"]: entry["sha256"] for entry in json.loads(listed.stdout)}
    for fmt, name in (("facturx", "NL2026-00004.pdf"), ("cii", "NL2026-00004.cii.xml")):
        first, second = (tmp_path / "first" / name).read_bytes(), (tmp_path / "second" / name).read_bytes()
        assert first == second
        assert hashlib.sha256(first).hexdigest() == archived[fmt]
