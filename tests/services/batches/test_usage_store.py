"""Usage rated from Parquet files through DuckDB gives the lines, amounts and formulas the in-memory path gives."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.shards import WHOLE, split
from ledger.usage_files import partition, usage_table, write_file
from ledger.usage_sums import group_details, row_counts, sum_files, write_groups
from rating.money import to_units
from rating.pricing import FxRate, FxTable, MarkupRule, Markups
from rating.rounding import RoundingPolicy
from rating.usage_frames import rate_usage
from services.batches.usage_store import rate_usage_files

MARKUPS = Markups((MarkupRule("base", Decimal("10"), tenant="de01"),
                   MarkupRule("vm", Decimal("20"), meter_category="Virtual Machines"),
                   MarkupRule("acme-m2", Decimal("3.3"), customer="acme", product="m2")))
FX = FxTable([FxRate("ecb", "USD", "EUR", Decimal("0.921734"), date(2026, 5, 29))])
ON = date(2026, 5, 31)
COLUMNS = ["row_id", "customer", "subscription", "resource_group", "meter", "meter_category", "currency", "cost",
           "tag_environment"]

# 0.1 + 0.2 is not 0.3 in float64; ten times 0.1 is not 1: the sums must still be exact.
ROWS = [
    ("u1", "acme", "s1", "rg-web", "m1", "Virtual Machines", "EUR", "0.1", "prod"),
    ("u2", "acme", "s1", "rg-web", "m1", "Virtual Machines", "EUR", "0.2", "prod"),
    ("u3", "acme", "s2", "rg-db", "m2", "Storage", "USD", "10.00000001", None),
    ("u4", "zeta", "s3", "rg-x", "m2", "Storage", "EUR", "0.00000004", "test"),
    *((f"t{n}", "zeta", "s3", "rg-x", "m3", "Bandwidth", "EUR", "0.1", "test") for n in range(10)),
    ("u5", "acme", "s2", None, "m2", "Storage", "EUR", "12345678.98765432", "dev"),
]


def frame(rows: list[tuple]) -> pd.DataFrame:
    data = pd.DataFrame(rows, columns=COLUMNS)
    data["cost_units"] = [to_units(Decimal(cost), 8) for cost in data.pop("cost")]
    return data.astype({"cost_units": "int64"})


def store(root: Path, data: pd.DataFrame, files: int) -> list[str]:
    """The rows split over ``files`` Parquet files of the store, as the sync writes them."""
    names = []
    for index in range(files):
        part = data.iloc[index::files]
        columns = {name: [None if pd.isna(value) else value for value in part[name]] for name in part.columns}
        names.append(write_file(root, partition("de01", ON, f"azure-{index}"), usage_table(columns)).path)
    return names


def compare(data: pd.DataFrame, root: Path, files: list[str], group_by: list[str]) -> None:
    kwargs = {"tenant": "de01", "currency": "EUR", "group_by": group_by, "markups": MARKUPS, "fx": FX, "on": ON,
              "rounding": RoundingPolicy.HALF_UP}
    memory = rate_usage(data, **kwargs)
    stored = rate_usage_files(root, files, memory_limit="256MB", **kwargs)
    assert [(line.group, line.rows, line.unrounded, line.amount, line.lineage.formula, line.lineage.details)
            for line in stored] == \
           [(line.group, line.rows, line.unrounded, line.amount, line.lineage.formula, line.lineage.details)
            for line in memory]
    for line in stored:
        assert list(line.lineage.input_ids) == sorted(f"usage_file:{name}" for name in files)


@pytest.mark.parametrize("group_by", [["customer", "tag_environment"], ["subscription", "meter"],
                                      ["resource_group"], ["customer", "meter_category", "tag_environment"]])
def test_parquet_store_rates_as_memory(tmp_path: Path, group_by: list[str]) -> None:
    data = frame(ROWS)
    compare(data, tmp_path, store(tmp_path, data, 3), group_by)


def test_sums_are_exact_where_float_is_not(tmp_path: Path) -> None:
    data = frame(ROWS)
    lines = rate_usage_files(tmp_path, store(tmp_path, data, 2), tenant="de01", currency="EUR",
                             group_by=["customer", "meter"], markups=Markups(()), fx=FX, on=ON,
                             rounding=RoundingPolicy.HALF_UP)
    amounts = {tuple(value for _, value in line.group): str(line.amount.amount) for line in lines}
    assert amounts[("acme", "m1")] == "0.30"
    assert [line.lineage.formula for line in lines if dict(line.group)["meter"] == "m3"] == \
           ["1 EUR × 1 × 1"]
    assert sum(0.1 for _ in range(10)) != 1.0


def test_rewriting_a_run_replaces_its_file(tmp_path: Path) -> None:
    data = frame(ROWS)
    first = store(tmp_path, data, 2)
    again = store(tmp_path, data, 2)
    assert first == again
    assert len(list(tmp_path.rglob("*.parquet"))) == 2
    lines = rate_usage_files(tmp_path, again, tenant="de01", currency="EUR", group_by=["customer"],
                             markups=MARKUPS, fx=FX, on=ON, rounding=RoundingPolicy.HALF_UP)
    assert sum(line.rows for line in lines) == len(ROWS)


def test_a_missing_group_column_is_named(tmp_path: Path) -> None:
    data = frame(ROWS).drop(columns=["tag_environment"])
    files = store(tmp_path, data, 1)
    with pytest.raises(ValueError, match="tag_owner"):
        rate_usage_files(tmp_path, files, tenant="de01", currency="EUR", group_by=["tag_owner"], markups=MARKUPS,
                         fx=FX, on=ON, rounding=RoundingPolicy.HALF_UP)


row = st.tuples(st.sampled_from(["acme", "zeta", "ümlaut", "Acme"]), st.sampled_from(["s1", "s2"]),
                st.sampled_from(["rg", None]), st.sampled_from(["m1", "m2", "m3"]),
                st.sampled_from(["Virtual Machines", "Storage"]), st.sampled_from(["EUR", "USD"]),
                st.integers(min_value=-10**12, max_value=10**17), st.sampled_from(["prod", "dev", None]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, min_size=1, max_size=40), files=st.integers(min_value=1, max_value=3),
       group_by=st.sampled_from([["customer"], ["customer", "tag_environment"], ["resource_group", "meter"]]))
def test_any_rows_rate_alike(tmp_path_factory: pytest.TempPathFactory, rows: list[tuple], files: int,
                             group_by: list[str]) -> None:
    data = pd.DataFrame([(f"r{n}", c, s, g, m, k, cur, units, env)
                         for n, (c, s, g, m, k, cur, units, env) in enumerate(rows)],
                        columns=[*COLUMNS[:7], "cost_units", "tag_environment"]).astype({"cost_units": "int64"})
    root = tmp_path_factory.mktemp("store")
    compare(data, root, store(root, data, min(files, len(rows))), group_by)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(customers=st.lists(st.sampled_from(["1", "2", "7", "19", "x", None]), min_size=1, max_size=30),
       parts=st.integers(min_value=1, max_value=4))
def test_shards_of_the_files_sum_to_the_whole(tmp_path_factory: pytest.TempPathFactory, customers: list[str | None],
                                              parts: int) -> None:
    """A partitioned build sums each shard's customers from the same files: together, exactly the whole month, and
    rows naming no customer (or not a ledger id) only in the first shard."""
    data = frame([(f"r{n}", customer, "s1", "rg", f"m{n % 2}", "Storage", "EUR", f"{n}.5", None)
                  for n, customer in enumerate(customers)])
    root = tmp_path_factory.mktemp("store")
    files = store(root, data, 2 if len(customers) > 1 else 1)
    keys = {"1": "k1", "2": "k2", "7": "k7", "19": "k19"}
    whole = sum_files(root, files, (), ["customer", "meter"], customer_keys=keys)
    shards = split([1, 2, 7, 19], parts)
    sharded = [item for shard in shards
               for item in sum_files(root, files, (), ["customer", "meter"], customer_keys=keys, shard=shard)]
    assert sorted(((s.group, s.cost_units, s.rows) for s in sharded), key=repr) == \
           sorted(((s.group, s.cost_units, s.rows) for s in whole), key=repr)


def test_details_sum_quantities_exactly_large_and_small(tmp_path: Path) -> None:
    """A group's quantity is the exact sum of its rows' quantity text, whether a quantity fits 18 digits at 12
    places (most) or not (a million and more), and its description comes from its earliest row."""
    quantities = ["1234567.5", "0.000000000001", "2.5", "99999999999.25", "1E-7", "-0.5"]
    columns = {
        "row_id": [f"r{n}" for n in range(len(quantities))], "customer": ["7"] * len(quantities),
        "subscription": ["7/s1"] * len(quantities), "resource_group": ["rg"] * len(quantities),
        "meter": ["m1"] * len(quantities), "meter_category": ["Storage"] * len(quantities),
        "currency": ["EUR"] * len(quantities), "cost_units": [1] * len(quantities),
        "usage_date": [date(2026, 5, 9 - n) for n in range(len(quantities))],
        "meter_name": [f"Meter as of row {n}" for n in range(len(quantities))], "quantity": quantities,
    }
    name = write_file(tmp_path, partition("de01", ON, "azure"), usage_table(columns)).path
    details = group_details(tmp_path, [name], ["subscription", "meter"], ["meter_name"])
    assert details == {("7/s1", "m1"): {"meter_name": "Meter as of row 5",
                                        "quantity": sum(Decimal(text) for text in quantities)}}


detailed_row = st.tuples(st.sampled_from(["1", "2", "7", "x", None]), st.sampled_from(["s1", "s2"]),
                         st.sampled_from(["m1", "m2"]), st.sampled_from(["Virtual Machines", "Storage"]),
                         st.sampled_from(["EUR", "USD"]), st.integers(min_value=-10**12, max_value=10**17),
                         st.sampled_from(["0.5", "1234567.000000000001", "99999999999.25", "-2", "1E-7"]),
                         st.one_of(st.none(), st.integers(min_value=1, max_value=9)), st.sampled_from(["prod", None]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(detailed_row, min_size=1, max_size=40), files=st.integers(min_value=1, max_value=3),
       parts=st.integers(min_value=1, max_value=3))
def test_a_group_file_sums_describes_and_counts_as_its_usage_files(tmp_path_factory: pytest.TempPathFactory,
                                                                   rows: list[tuple], files: int,
                                                                   parts: int) -> None:
    """What a build in ranges reads instead of the month's files: for any rules and any shard of customers, the
    group file gives the same sums (and lineage: the usage files), descriptions of the earliest row, and counts;
    also for rows without a usage day (the sync's optional columns)."""
    columns: dict[str, list] = {name: [] for name in (
        "row_id", "customer", "subscription", "resource_group", "meter", "meter_category", "currency", "cost_units",
        "quantity", "usage_date", "meter_name", "tag_environment")}
    for n, (customer, sub, meter, category, currency, units, quantity, day, environment) in enumerate(rows):
        for name, value in zip(columns, (f"r{n:03d}", customer, f"{customer}/{sub}", "rg", meter, category,
                                         currency, units, quantity, day and date(2026, 5, day),
                                         f"{meter} as of row {n}", environment), strict=True):
            columns[name].append(value)
    root = tmp_path_factory.mktemp("store")
    table = usage_table(columns)
    names = [write_file(root, partition("de01", ON, f"azure-{index}"), table.slice(index * len(rows) // files,
                                                                                   len(rows) // files + 1)).path
             for index in range(files)]
    names = sorted(set(names))
    group_by, first = ["subscription", "meter", "tag_environment"], ["meter_name", "meter_category"]
    write_groups(root, names, root / "groups" / "may.parquet", group_by, first)
    keys = {"1": "acme", "2": "k2", "7": "k7"}
    rules = MARKUPS.in_force("de01", ON)
    for shard in [*split([1, 2, 7], parts), WHOLE]:
        def sums(grouped: bool, shard=shard) -> list[tuple]:
            found = sum_files(root, ["groups/may.parquet"] if grouped else names, rules, group_by,
                              customer_keys=keys, shard=shard,
                              grouped=[f"usage_file:{name}" for name in names] if grouped else None)
            return [(item.group, item.rule, item.currency, item.cost_units, item.rows, item.input_ids)
                    for item in found]

        def details(grouped: bool, shard=shard) -> dict:
            return group_details(root, ["groups/may.parquet"] if grouped else names, group_by, first,
                                 customer_keys=keys, shard=shard, grouped=grouped)

        assert sums(True) == sums(False)
        assert details(True) == details(False)
    assert row_counts(root, ["groups/may.parquet"], grouped=True) == row_counts(root, names)
