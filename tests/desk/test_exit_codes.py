"""Exit codes that mean something (issue 16): the table's rules, and `cspbill export` through the real console
script against the BC SOAP sandbox: an ERP that is down leaves the invoices queued and the command says so in its
last line and its exit code; configuration problems have their own code. The set-up (`cspbill init`) and the JSON
output run in process (``tests.cli``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from desk.exit_codes import ExitCode, Tally
from tests.e2e.test_export_cli import CLI, cli, config_file, environment, settings_of  # noqa: F401 - fixture reused
from tests.services.export.test_export_outbox import (  # noqa: F401 - soap is a fixture used here
    SOAP,
    Soap,
    assert_exactly_once,
    seed_invoices,
    soap,
)

CASES = [  # counts, expected code
    ({"sent": 3, "queued": 0, "uncertain": 0, "failed": 0}, ExitCode.OK),
    ({"sent": 0, "queued": 0, "uncertain": 0, "failed": 0}, ExitCode.OK),
    ({"sent": 2, "queued": 1, "uncertain": 0, "failed": 0}, ExitCode.PENDING),
    ({"sent": 2, "queued": 0, "uncertain": 1, "failed": 0}, ExitCode.PENDING),
    ({"sent": 0, "queued": 4, "uncertain": 1, "failed": 1}, ExitCode.FAILED),
    ({"sent": 0, "queued": 1, "uncertain": 0, "failed": 1, "misconfigured": 1}, ExitCode.CONFIG),
]


@pytest.mark.parametrize(("counts", "code"), CASES)
def test_the_most_urgent_outcome_decides_the_code(counts: dict[str, int], code: ExitCode) -> None:
    tally = Tally.of("export", counts.items(), pending=("queued", "uncertain"), failed=("failed",),
                     config=("misconfigured",))
    assert tally.code is code
    assert tally.line == (f"export: {', '.join(f'{n} {name}' for name, n in counts.items())} "
                          f"(exit {code.value} {code.name})")


def test_the_codes_are_distinct_and_keep_click_s_usage_code() -> None:
    assert len({code.value for code in ExitCode}) == len(ExitCode)
    assert (ExitCode.OK, ExitCode.ERROR, ExitCode.USAGE) == (0, 1, 2)


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_an_erp_that_is_down_leaves_the_invoices_queued_and_the_exit_code_says_so(
    config_file: Path, soap: Soap,  # noqa: F811 - fixtures
) -> None:
    assert cli(config_file, "init").returncode == 0
    numbers = seed_invoices(settings_of(config_file), count=5)
    soap.app.faults.arm(SOAP, kind="status", status=503, times=-1)

    down = cli(config_file, "export", "--tenant", "nl-bv", "--as", "finn", process=True)
    assert down.returncode == ExitCode.PENDING, down.stderr
    assert "3 failures in a row, the rest stays queued" in down.stdout  # the breaker left two rows untouched
    assert last_line(down.stdout) == ("export: 0 sent, 0 already in the ERP, 5 queued, 0 uncertain, 0 failed "
                                      "(exit 4 PENDING)")

    soap.app.faults.clear()
    up = cli(config_file, "export", "--tenant", "nl-bv", "--as", "finn", process=True)
    assert up.returncode == ExitCode.OK, up.stderr
    assert last_line(up.stdout) == "export: 5 sent, 0 already in the ERP, 0 queued, 0 uncertain, 0 failed (exit 0 OK)"
    assert_exactly_once(soap, settings_of(config_file), numbers)


def test_json_output_stays_json_and_the_count_goes_last_to_stderr(
    config_file: Path, soap: Soap,  # noqa: F811 - fixtures
) -> None:
    assert cli(config_file, "init").returncode == 0
    seed_invoices(settings_of(config_file), count=1)
    soap.app.faults.arm(SOAP, kind="status", status=503, times=-1)
    down = cli(config_file, "export", "--as", "finn", "--json")
    assert down.returncode == ExitCode.PENDING
    assert yaml.safe_load(down.stdout)[0]["counts"] == {"queued": 1}
    assert last_line(down.stderr).endswith("1 queued, 0 uncertain, 0 failed (exit 4 PENDING)")


@pytest.mark.parametrize(("args", "env_drop", "message"), [
    # (a person who may not see a tenant gets "not found for user" whether or not it exists: exit ERROR)
    (("export", "--tenant", "nope"), None, "tenant 'nope': not in config.yaml tenants"),
    (("export", "--tenant", "de-gmbh"), None, "tenant 'de-gmbh': erp.kind is 'none'"),
    (("export", "--tenant", "nl-bv", "--as", "finn"), "CSPBILL_BC_SOAP_KEY",
     "tenant 'nl-bv': erp credentials: environment variable CSPBILL_BC_SOAP_KEY is not set"),
    (("batch", "build", "--tenant", "nope", "--month", "2026-05"), None,
     "tenant 'nope': not in config.yaml tenants"),
])
def test_configuration_errors_have_their_own_code(
    config_file: Path, args: tuple[str, ...], env_drop: str | None, message: str,  # noqa: F811 - fixture
) -> None:
    assert cli(config_file, "init").returncode == 0
    env = environment(config_file)
    if env_drop:
        env.pop(env_drop)
    done = subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == ExitCode.CONFIG, done.stderr
    assert message in last_line(done.stderr)


def test_a_broken_config_file_is_a_configuration_error(tmp_path: Path) -> None:
    import subprocess

    from tests.e2e.test_export_cli import CLI

    (tmp_path / "config.yaml").write_text("tenants: [\n", encoding="utf-8")
    done = subprocess.run([CLI, "--config", str(tmp_path / "config.yaml"), "export"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == ExitCode.CONFIG
    assert last_line(done.stderr).startswith("error: config error:")
