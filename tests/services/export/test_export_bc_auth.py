"""How a legal entity's Business Central target authenticates, from config.yaml: ``erp.auth: entra`` gets app-only
Entra tokens for BC online (SOAP and API alike, scope ``https://api.businesscentral.dynamics.com/.default``);
``basic`` keeps the web service key for an on-premises SOAP server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config import Settings
from config.loader import parse_settings
from erp_export.base import export_document
from sandbox import entra
from sandbox.core import Clock as SandboxClock
from sandbox.core import SandboxServer
from sandbox.tls import TlsFiles, make_tls_files
from services.errors import BadSetting
from services.export import erp_target
from tests.conftest import demo_config_data
from tests.erp_export.samples import invoice
from tests.services.export.test_export_outbox import FAST, Soap, soap  # noqa: F401 - soap is a fixture

CLIENT = {"CSPBILL_T_BC_ID": entra.CREDENTIALS["client_id"], "CSPBILL_T_BC_SECRET": entra.CREDENTIALS["client_secret"]}


@pytest.fixture
def tls(tmp_path: Path) -> TlsFiles:
    return make_tls_files(tmp_path / "tls")


@pytest.fixture
def entra_server(tls: TlsFiles) -> Iterator[SandboxServer]:
    server = SandboxServer(entra.build(SandboxClock()), tls=tls, prefix=entra.PREFIX).start()
    try:
        yield server
    finally:
        server.stop()


def settings_with(tmp_path: Path, **erp: Any) -> Settings:
    data = demo_config_data()
    nl = next(t for t in data["tenants"] if t["code"] == "nl-bv")
    nl["erp"] = erp
    return parse_settings(data, tmp_path / "config.yaml")


def test_soap_with_entra_tokens_for_bc_online(soap: Soap, entra_server: SandboxServer, tls: TlsFiles,  # noqa: F811
                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """BC online's SOAP endpoints take OAuth (Entra ID) tokens; web service access keys stopped working there.
    https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/web-services-authentication
    https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/administration/automation-apis-using-s2s-authentication
    """
    for name, value in CLIENT.items():
        monkeypatch.setenv(name, value)
    settings = settings_with(tmp_path, kind="bc_soap", base_url=soap.service_url, auth="entra",
                             client_id_env="CSPBILL_T_BC_ID", client_secret_env="CSPBILL_T_BC_SECRET",
                             authority_url=f"{entra_server.url}/{entra.TENANT_ID}", ca_bundle=str(tls.ca_cert))
    target = erp_target(settings, settings.tenant("nl-bv"))
    doc = invoice(1)
    assert export_document(target.exporter, doc, policy=FAST).action == "created"
    assert [d["External_Document_No"] for d in soap.state()["invoices"]] == [doc.external_ref]
    # no username or key is configured: the sandbox (401 without credentials) accepted the Entra bearer token


def test_auth_settings_are_checked_by_name(soap: Soap, tmp_path: Path) -> None:  # noqa: F811
    entra_without_client = settings_with(tmp_path, kind="bc_soap", base_url=soap.service_url, auth="entra")
    with pytest.raises(BadSetting, match=r"erp.client_id_env and erp.client_secret_env are required for bc_soap"):
        erp_target(entra_without_client, entra_without_client.tenant("nl-bv"))
    basic_without_key = settings_with(tmp_path, kind="bc_soap", base_url=soap.service_url)
    with pytest.raises(BadSetting, match=r"erp.username_env and erp.password_env are required"):
        erp_target(basic_without_key, basic_without_key.tenant("nl-bv"))
    rest_basic = settings_with(tmp_path, kind="bc_rest", base_url="https://api.businesscentral.dynamics.com/v2.0/"
                               "contoso.example/production/api/v2.0", auth="basic")
    with pytest.raises(BadSetting, match=r"erp.auth basic is not supported for bc_rest"):
        erp_target(rest_basic, rest_basic.tenant("nl-bv"))
