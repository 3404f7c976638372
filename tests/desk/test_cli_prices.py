"""`cspbill prices` on a fresh SQLite ledger, run in process (``tests.cli``; the real console script imports prices in
tests/desk/test_cli_progress.py): import (all or nothing, once), list, show and reprice, each failure one line naming
file, line and field."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import ROOT
from tests.desk import test_cli_foundation

NCE = ("ProductTitle,ProductId,SkuId,SkuTitle,Publisher,SkuDescription,UnitOfMeasure,TermDuration,BillingPlan,Market,"
       "Currency,UnitPrice,PricingTierRangeMin,PricingTierRangeMax,EffectiveStartDate,EffectiveEndDate,Tags,"
       "ERP Price\n"
       "Microsoft 365 E3,CFQ7TTC0LF8Q,0001,Microsoft 365 E3,Microsoft Corporation,,,P1Y,Monthly,NL,EUR,33.60,,,"
       "11/1/2026 0:00,11/30/9999 23:59,License,42.00\n")



def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return test_cli_foundation.run(*args, cwd=cwd, process=False)

def test_prices_import_list_show_and_reprice(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    assert "price book edition 1" in run("init", cwd=tmp_path).stdout
    (tmp_path / "nce.csv").write_text(NCE)
    imported = run("prices", "import", "nce.csv", "--as", "finn", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "nce.csv: 1 microsoft row(s) imported as edition 2"
    again = run("prices", "import", "nce.csv", "--as", "finn", cwd=tmp_path)
    assert again.stdout.strip() == "nce.csv: 1 microsoft row(s) already imported as edition 2"

    (tmp_path / "rules.csv").write_text("name,tenant,product,valid_from,markup_percent,basis\n"
                                        "erp-5,nl-bv,CFQ7TTC0LF8Q:0001,2026-11-01,-5,erp\n")
    assert run("prices", "import", "rules.csv", "--as", "finn", cwd=tmp_path).returncode == 0
    listed = json.loads(run("prices", "list", "--tenant", "nl-bv", "--json", "--as", "finn", cwd=tmp_path).stdout)
    assert listed["edition"] == 3
    assert {rule["label"]: rule["percent"] for rule in listed["rules"]}["price rule 4 (erp-5)"] == "-5"
    shown = json.loads(run("prices", "show", "2", "--json", "--as", "finn", cwd=tmp_path).stdout)
    assert shown["list_prices"][0]["erp_price"] == "42" and shown["list_prices"][0]["valid_to"] is None

    repriced = run("prices", "reprice", "--tenant", "nl-bv", "--from", "2026-10-01", "--reason", "erp list",
                   "--as", "finn", cwd=tmp_path)
    assert repriced.returncode == 0 and "reprice recorded as edition 4" in repriced.stdout
    audit = json.loads(run("audit", "--action", "prices.reprice", "--json", "--as", "finn", cwd=tmp_path).stdout)
    assert audit[0]["after"]["reason"] == "erp list"


def test_a_bad_file_exits_non_zero_with_file_line_and_field(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    run("init", cwd=tmp_path)
    (tmp_path / "nce.csv").write_text(NCE.replace(",EUR,33.60,", ",,-1,"))
    refused = run("prices", "import", "nce.csv", "--as", "finn", cwd=tmp_path)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "nce.csv:2 Currency: missing" in refused.stderr and "nce.csv:2 UnitPrice: -1 is negative" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    desk = run("prices", "reprice", "--from", "2026-10-01", "--reason", "x", "--as", "dana", cwd=tmp_path)
    assert desk.returncode == 1 and "lacks role 'finance'" in desk.stderr
