"""`cspbill login --device-code` through the real console script against the Entra sandbox: the command prints the
verification URL and code, a person (here a test thread) enters the code on the sandbox's page and picks their
account, and the command stores a session for the configured user that account maps to."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import requests
import yaml

from services.operations import initialise
from tests.web.entra import entra_config, entra_sandbox

CLI = str(Path(sys.executable).with_name("cspbill"))


def _approve(line: str, ca: str, account: str) -> None:
    """Approve the code the command printed on ``line`` on the verification page, as ``account``."""
    words = line.split()
    url, code = words[words.index("open") + 1], words[words.index("code") + 1]
    requests.post(url, data={"otc": code, "username": account}, verify=ca, timeout=10)


def run_login(tmp_path: Path, account: str) -> tuple[subprocess.CompletedProcess[str], list[str], dict[str, str]]:
    with entra_sandbox(tmp_path) as sandbox:
        settings = entra_config(sandbox, f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path)
        initialise(settings)
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump(settings.model_dump(mode="json")), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CSPBILL_")}
        env["XDG_CONFIG_HOME"] = str(tmp_path / "home")
        process = subprocess.Popen([CLI, "--config", str(config), "login", "--device-code"], env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            first = process.stderr.readline()  # the instructions, read before anything else reads stderr
            seen = [first]
            approver = threading.Thread(target=_approve, args=(first, str(sandbox.tls.ca_cert), account))
            approver.start()
            stdout, rest = process.communicate(timeout=120)
            stderr = first + rest
            approver.join(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
        whoami = subprocess.run([CLI, "--config", str(config), "whoami"], env=env, text=True, capture_output=True,
                                timeout=60)
        return subprocess.CompletedProcess(process.args, process.returncode, stdout + whoami.stdout,
                                           stderr + whoami.stderr), seen, env


def test_device_code_login_signs_in_the_mapped_person(tmp_path: Path) -> None:
    result, seen, _ = run_login(tmp_path, "greta@wolkwerk-demo.onmicrosoft.com")
    assert "/devicelogin" in seen[0] and "enter the code" in seen[0]
    assert result.returncode == 0, result.stderr
    assert "signed in as greta until" in result.stdout
    assert "greta (person, device_code, session" in result.stdout
    credentials = tmp_path / "home" / "cspbill" / "credentials.json"
    assert credentials.stat().st_mode & 0o777 == 0o600


def test_an_unmapped_account_is_refused_in_one_line(tmp_path: Path) -> None:
    result, _, _ = run_login(tmp_path, "erik@wolkwerk-demo.onmicrosoft.com")
    assert result.returncode != 0
    assert "erik@wolkwerk-demo.onmicrosoft.com is not a user of this desk" in result.stderr
    assert "not signed in" in result.stderr  # whoami afterwards: nobody is
