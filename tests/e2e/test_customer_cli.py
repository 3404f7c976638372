"""`cspbill customer set|show` through the real console script: fields set, shown, and bad input refused with one
line naming the customer and field (exit code non-zero)."""

from __future__ import annotations

from pathlib import Path

import yaml

from config import Settings
from sandbox import vies
from sandbox.core import SandboxServer
from services.operations import initialise
from tests.conftest import sqlite_only
from tests.e2e.test_batch_month import config_file, cspbill  # noqa: F401 - the CLI config fixture, reused
from tests.services.batches.test_batch_support import add_customer
from tests.services.sync.test_vat_checks import sandbox  # noqa: F401 - the VIES sandbox fixture, reused

pytestmark = sqlite_only  # the CLI over the services: both databases are covered below it


def test_customer_set_and_show(settings: Settings, config_file: Path) -> None:  # noqa: F811
    initialise(settings)
    customer = add_customer(settings, "de-gmbh", "Stad Gent", country="BE")
    cspbill(config_file, "customer", "set", str(customer), "--street", "Botermarkt 1", "--city", "Gent",
            "--postal-code", "9000", "--vat-id", "BE0428759497", "--peppol", "0208:0428759497", "--payment-terms",
            "30", "--channel", "peppol", "--email", "facturen@gent.example", "--contact", "Jan Peeters",
            "--language", "nl", "--as", "dana")
    shown = cspbill(config_file, "customer", "show", str(customer), "--as", "greta").stdout
    for text in ("Botermarkt 1", "9000", "BE0428759497", "0208:0428759497", "30 days", "peppol", "Jan Peeters"):
        assert text in shown
    refused = cspbill(config_file, "customer", "set", str(customer), "--payment-terms", "400", "--as", "dana", ok=False)
    message = f"customer {customer} payment_terms_days: 400 is not between 0 and 365 days"
    assert message in refused.stderr + refused.stdout


def test_customer_check_vat_against_the_vies_sandbox(settings: Settings, config_file: Path,  # noqa: F811
                                                     sandbox: SandboxServer) -> None:  # noqa: F811
    initialise(settings)
    data = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    data["vies"] = {"enabled": True, "wsdl_url": f"{sandbox.url}{vies.WSDL_PATH}", "ca_bundle": sandbox.ca}
    config_file.write_text(yaml.safe_dump(data), encoding="utf-8")
    customer = add_customer(settings, "de-gmbh", "Wiener Kaffee GmbH", country="AT", vat_id="ATU13585627")
    checked = cspbill(config_file, "customer", "check-vat", str(customer), "--as", "dana").stdout
    assert f"customer {customer} (Wiener Kaffee GmbH): VIES says valid for ATU13585627" in checked
    assert "valid at" in cspbill(config_file, "customer", "show", str(customer), "--as", "dana").stdout
