"""Config errors name the key path; the shipped demo config is valid; secrets come only from the environment."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from config import ConfigError, load_config
from config.loader import parse_settings
from config.schema import MissingSecret, secret
from tests.conftest import ROOT, demo_config_data


def test_shipped_config_is_the_two_entity_demo() -> None:
    settings = load_config(ROOT / "config.yaml")
    assert [t.code for t in settings.tenants] == ["nl-bv", "de-gmbh"]
    assert {t.currency for t in settings.tenants} == {"EUR"}
    assert settings.tenant("de-gmbh").invoice_numbers.first == 100001
    assert {s.kind for s in settings.sources} == {"partner_center", "azure_costs", "pax8", "ingram_cmp"}


def _set(data: dict, path: tuple, value: object) -> dict:
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def _drop(data: dict, path: tuple) -> dict:
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return data


BASE = demo_config_data()

CASES = [
    (_set(BASE, ("tenants", 0, "currency"), "euro"), "tenants[0].currency"),
    (_set(BASE, ("tenants", 1, "invoice_numbers", "pattern"), "DE-{year}"), "tenants[1].invoice_numbers.pattern"),
    (_set(BASE, ("sources", 2, "tenant"), "fr-sas"), "sources[2].tenant: unknown tenant 'fr-sas'"),
    (_set(BASE, ("sources", 0, "base_url"), "api.partnercenter.microsoft.com"), "sources[0].base_url"),
    (_set(BASE, ("rating", "rounding"), "bankers"), "rating.rounding"),
    (_set(BASE, ("schedule", "nightly_sync"), "every night"), "schedule.nightly_sync"),
    (_set(BASE, ("users", 0, "roles"), ["superuser"]), "users[0].roles[0]"),
    (_set(BASE, ("tenants", 0, "colour"), "blue"), "tenants[0].colour: Extra inputs are not permitted"),
    (_drop(BASE, ("tenants", 0, "country")), "tenants[0].country: Field required"),
    (_set(BASE, ("price_rules", 0, "unit_price"), "9.99"), "price_rules[0]: set exactly one of"),
    (_set(BASE, ("tenants", 0, "erp", "base_url"), None), "tenants[0].erp: base_url is required"),
    (_drop(BASE, ("sources", 1, "storage_sas_url_env")), "sources[1]: mode: exports needs export_name and"),
    (_set(BASE, ("sources", 1, "format"), "Json"), "sources[1].format"),
    (_set(BASE, ("sources", 1, "mode"), "files"), "sources[1].mode"),
    (_set(_set(BASE, ("sources", 2, "mode"), "exports"), ("sources", 2, "export_name"), "x"),
     "sources[2]: mode: exports is for azure_costs sources only"),
]


@pytest.mark.parametrize(("data", "expected"), CASES, ids=[c[1] for c in CASES])
def test_config_errors_name_the_key_path(data: dict, expected: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(data, tmp_path / "config.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "config.yaml"))
    assert expected in message


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    file = tmp_path / "config.yaml"
    file.write_text("tenants:\n  - code: nl\n   name: broken\n")
    with pytest.raises(ConfigError, match=r"line \d+"):
        load_config(file)


def test_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")


def test_secrets_are_read_from_the_named_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSPBILL_TEST_SECRET", "s3cret")
    assert secret("CSPBILL_TEST_SECRET") == "s3cret"
    monkeypatch.delenv("CSPBILL_TEST_SECRET")
    with pytest.raises(MissingSecret, match="CSPBILL_TEST_SECRET"):
        secret("CSPBILL_TEST_SECRET")


def test_config_cannot_hold_a_secret_value(tmp_path: Path) -> None:
    data = _set(BASE, ("sources", 0, "client_secret"), "plain-text-secret")
    with pytest.raises(ConfigError, match=r"sources\[0\]\.client_secret: Extra inputs are not permitted"):
        parse_settings(data, tmp_path / "config.yaml")


def test_relative_sqlite_path_is_relative_to_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CSPBILL_DATABASE_URL", raising=False)
    settings = parse_settings(BASE, tmp_path / "config.yaml")
    assert settings.database_url() == f"sqlite:///{tmp_path / 'var' / 'cspbill.db'}"
    monkeypatch.setenv("CSPBILL_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert settings.database_url() == "postgresql+psycopg://u@h/db"
