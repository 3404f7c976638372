"""`cspbill rate CASE.json` through the real console script: JSON on stdout, or one error line and a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CSPBILL = Path(sys.executable).with_name("cspbill")
GOLDEN = ROOT / "tests" / "rating" / "cases" / "01_doc_example_microsoft_truncate.json"


def run(case: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([str(CSPBILL), "rate", str(case)], capture_output=True, text=True, encoding="utf-8",
                          env=env, cwd=ROOT, timeout=60, check=False)


def test_rate_prints_the_result(tmp_path: Path) -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    case = tmp_path / "case.json"
    case.write_text(json.dumps(golden["input"]), encoding="utf-8")
    done = run(case)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == golden["expected"]


def test_invalid_case_prints_one_line_and_fails(tmp_path: Path) -> None:
    data = json.loads(GOLDEN.read_text(encoding="utf-8"))["input"]
    data["changes"].append({"date": "2026-04-01", "quantity": 2})
    case = tmp_path / "invalid.json"
    case.write_text(json.dumps(data), encoding="utf-8")
    done = run(case)
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == ["error: changes[1].date: before subscription.start"]
