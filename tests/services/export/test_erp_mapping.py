"""erp.revenue_account and erp.vat_codes: lines land on the account of their billing type with the mapped VAT code,
and a VAT key without a mapping holds the whole invoice before anything is sent (outbox and `cspbill export
--dry-run` alike)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from config import Settings
from config.erp_mapping import RevenueAccounts, parse_vat_key
from config.loader import ConfigError, parse_settings
from config.schema import Tenant as TenantConfig
from ledger.models import Export
from services.errors import ValidationFailed
from services.export import erp_reference
from services.export.erp_mapping import UnmappedVat, business_posting_group, check_mapping, configured_vat_codes
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.conftest import demo_config_data
from tests.e2e.test_export_cli import cli, config_file  # noqa: F401 - config_file is a fixture used here
from tests.erp_export.samples import line
from tests.erp_export.test_erp_mapping_contract import with_reverse_charge
from tests.services.export.test_export_outbox import (  # noqa: F401 - soap, soap_env are fixtures used here
    Soap,
    run,
    seed_invoices,
    soap,
    soap_env,
    soap_settings,
)

ACCOUNTS = {"default": "8010", "license": "8011", "usage": "8020", "one_time": "8030"}


@pytest.mark.parametrize(("billing_type", "account"), [
    ("license", "8011"), ("usage", "8020"), ("one_time", "8030"), ("trial", "8010"), (None, "8010"),
    ("something-else", "8010"),
])
def test_revenue_account_by_billing_type(billing_type: str | None, account: str) -> None:
    assert RevenueAccounts(**ACCOUNTS).account(billing_type) == account


def test_a_bare_revenue_account_is_the_default_for_every_line() -> None:
    assert RevenueAccounts.model_validate("8040").account("usage") == "8040"


@pytest.mark.parametrize(("text", "parsed"), [
    ("S 21", ("S", Decimal(21))), ("S 21%", ("S", Decimal(21))), ("AE 0", ("AE", Decimal(0))),
    ("O 0", ("O", Decimal(0))), ("S 5.5", ("S", Decimal("5.5"))),
])
def test_vat_keys_are_written_as_the_batch_totals_write_them(text: str, parsed: tuple[str, Decimal]) -> None:
    assert parse_vat_key(text) == parsed


@pytest.mark.parametrize("bad", ["S21", "X 21", "S twenty", "21 S", ""])
def test_a_malformed_vat_key_is_a_config_error_naming_it(bad: str) -> None:
    data = demo_config_data()
    data["tenants"][0]["erp"]["vat_codes"] = {bad: "STANDARD"}
    with pytest.raises(ConfigError, match="VAT key"):
        parse_settings(data, Path("config.yaml"))


def test_two_spellings_of_one_key_are_a_config_error() -> None:
    data = demo_config_data()
    data["tenants"][0]["erp"]["vat_codes"] = {"S 21": "STANDARD", "S 21%": "HIGH"}
    with pytest.raises(ConfigError, match="given twice"):
        parse_settings(data, Path("config.yaml"))


def test_the_demo_config_maps_reverse_charge_and_out_of_scope_lines() -> None:
    data = demo_config_data()
    settings = parse_settings(data, Path("config.yaml"))
    for tenant in settings.tenants:
        if tenant.erp.kind in ("bc_soap", "bc_rest", "exact_online"):
            assert {"AE 0", "O 0"} <= set(configured_vat_codes(tenant)), tenant.code


def held_rows(settings: Settings) -> list[tuple[str, int, str | None, bool]]:
    with UnitOfWork(engine_for(settings)) as uow:
        return [(r.status, r.attempts, r.erp_document_id, "VAT key 'S 9'" in (r.last_error or ""))
                for r in uow.session.scalars(select(Export))]


def test_an_unmapped_vat_key_holds_the_whole_invoice_queued(
        settings: Settings, soap: Soap, soap_env: None, tmp_path: Path) -> None:  # noqa: F811 - fixtures
    nl = soap_settings(settings, soap, tmp_path, vat_codes={"S 21": "STANDARD"})
    initialise(nl)
    [number] = seed_invoices(nl, count=1, rates=("21", "9"), kinds=("charge", "usage"))  # the 9% line: Azure usage
    [outcome] = run(nl)
    assert outcome.action == "queued"
    assert "tenant 'nl-bv'" in outcome.error and f"invoice {number}" in outcome.error  # type: ignore[operator]
    assert ":sub2:" in outcome.error and "VAT key 'S 9'" in outcome.error  # type: ignore[operator]
    assert soap.documents(erp_reference("nl-bv", number)) == []  # not even the 21% line went out
    assert held_rows(nl) == [("queued", 0, None, True)]  # not claimed, not attempted; the reason on the row

    fixed = soap_settings(settings, soap, tmp_path, vat_codes={"S 21": "STANDARD", "S 9": "REDUCED"},
                          revenue_account=ACCOUNTS)
    [sent] = run(fixed)
    assert sent.action == "created"
    [document] = soap.documents(erp_reference("nl-bv", number))
    lines = {line["Description_2"].split(":")[2]: line for line in document["lines"]}
    assert (lines["sub1"]["No"], lines["sub1"]["VAT_Prod_Posting_Group"]) == ("8010", "STANDARD")
    assert (lines["sub2"]["No"], lines["sub2"]["VAT_Prod_Posting_Group"]) == ("8020", "REDUCED")


def test_dry_run_shows_the_unmapped_key(config_file: Path, soap: Soap) -> None:  # noqa: F811 - fixtures
    data = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    data["tenants"][0]["erp"]["vat_codes"] = {"S 21": "STANDARD"}
    config_file.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert cli(config_file, "init").returncode == 0
    settings = parse_settings(data, config_file)
    [number] = seed_invoices(settings, count=1, rates=("21", "9"))
    dry = cli(config_file, "export", "--dry-run", "--as", "finn")
    said = " ".join((dry.stdout + dry.stderr).split())  # the table wraps long errors
    assert dry.returncode != 0 and "1 failed" in said
    assert f"tenant 'nl-bv': invoice {number}: line nl-bv:c1:sub2:" in said
    assert "VAT key 'S 9' has no mapping in erp.vat_codes" in said
    assert soap.state()["invoices"] == []


def tenant_with(**erp: object) -> TenantConfig:
    data = demo_config_data()
    data["tenants"][0]["erp"] = {"kind": "bc_soap", "base_url": "https://bc.example/WS/C/Page/SalesInvoice", **erp}
    return parse_settings(data, Path("config.yaml")).tenant("nl-bv")


DOMESTIC_AND_EU = {"S": "DOMESTIC", "Z": "DOMESTIC", "AE": "EU", "O": "EXPORT"}
CODES = {"S 21": "STANDARD", "AE 0": "REVCHG", "O 0": "EXPORT"}


@pytest.mark.parametrize(("lines", "group", "problem"), [
    ((("S", "21"),), "DOMESTIC", None),
    ((("AE", "0"), ("AE", "0")), "EU", None),
    ((("O", "0"),), "EXPORT", None),
    ((("S", "21"), ("AE", "0")), None, r"VAT business posting groups \['DOMESTIC', 'EU'\]"),
    ((("S", "9"),), None, r"VAT key 'S 9' has no mapping in erp.vat_codes"),
    ((("E", "0"),), None, r"VAT key 'E 0' has no mapping in erp.vat_codes"),
])
def test_vat_codes_and_business_posting_groups_per_invoice(lines: tuple[tuple[str, str], ...], group: str | None,
                                                          problem: str | None) -> None:
    tenant = tenant_with(vat_codes=CODES, vat_business_posting_groups=DOMESTIC_AND_EU)
    doc = with_reverse_charge(9, *(line(n, "1", "10.00", rate=rate, category=category)
                                   for n, (category, rate) in enumerate(lines, start=1)))
    if problem is None:
        check_mapping(tenant, doc)
        assert business_posting_group(tenant, doc) == group
        return
    with pytest.raises(ValidationFailed, match=problem):
        check_mapping(tenant, doc)
        business_posting_group(tenant, doc)


def test_a_category_without_a_business_posting_group_is_named() -> None:
    tenant = tenant_with(vat_codes=CODES, vat_business_posting_groups={"S": "DOMESTIC"})
    doc = with_reverse_charge(10, line(1, "1", "10.00", rate="0", category="AE"))
    with pytest.raises(UnmappedVat, match=r"VAT key 'AE' has no mapping in erp.vat_business_posting_groups"):
        check_mapping(tenant, doc)


def test_without_vat_codes_bc_takes_the_rate_names_and_exact_its_standard_codes() -> None:
    assert configured_vat_codes(tenant_with())["S 21"] == "STANDARD"
    assert configured_vat_codes(tenant_with())["AE 0"] == "ZERO"
    data = demo_config_data()
    data["tenants"][0]["erp"] = {"kind": "exact_online", "base_url": "https://start.exactonline.nl"}
    exact = parse_settings(data, Path("config.yaml")).tenant("nl-bv")
    assert configured_vat_codes(exact) == {"S 21": "2  ", "S 9": "1  ", "Z 0": "0  ", "AE 0": "0  ", "O 0": "0  "}
