"""The grouping step of usage rating pushed down to DuckDB over the Parquet usage files (``ledger.usage_files``).

Why DuckDB: it streams Parquet row groups through a hash aggregation that spills to disk past ``memory_limit``, so a
month of any size is grouped in bounded memory, and only the grouped sums come back to Python. The result is the
same list of :class:`rating.consumption.UsageSum` that ``rating.usage_frames.sum_usage`` computes in memory, so
``rating.consumption.price_sums`` prices both alike:

- costs are summed as integers (``SUM`` of BIGINT 1e-8 units is HUGEINT in DuckDB, never DOUBLE);
- each row's markup rule is the first of the rules in force whose scope it matches (``rating.consumption.rule_scope``,
  as a ``CASE``), so rows are summed per group, rule and currency, exactly as in memory;
- groups come in sorted order with missing values last, then rule, then currency (pandas' order for text keys);
- a group's lineage names the files (relative to the store's root) the rows were read from: its first sum carries
  them, the others none, so a line lists each file once. Naming the files a group's rows came from one by one would
  make DuckDB carry a file name per row (several times the cost of the sum itself); the files of one tenant's
  month are what a person opens to check a line anyway.

A build in ranges of customers reads a month's usage once: :func:`write_groups` sums the month's files per customer,
group, markup-scope column and currency into one *group file* (a row per group, not per usage row), and each range
sums and describes its customers from that file (``grouped``) with the same queries, so the lines are the same;
their lineage names what the caller says the group file was summed from (a build: the month's usage file set).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ledger.shards import WHOLE, Shard
from rating.consumption import SCOPE_COLUMNS, UsageSum, check_group_by, rule_scope
from rating.pricing import MarkupRule

DEFAULT_MEMORY_LIMIT = "1GB"
NARROW = "TRY_CAST(quantity AS DECIMAL(18, 12))"  # see group_details


@dataclass(frozen=True)
class _Measures:
    """How a query counts, sums quantities and finds the earliest row: over usage rows, or over a group file's rows
    (each already the sums of its usage rows, and its earliest row's description)."""

    rows: tuple[str, ...]  # the inner columns a count needs beside the groups
    count: str
    small: str  # the exact quantity sum, in two parts (see group_details)
    large: str
    earliest: str  # the described columns (a struct by name) of the earliest row, by (usage_date, row_id)


def _described(first: Sequence[str], table: str = "") -> str:
    return "{" + ", ".join(f"'{column}': {table}\"{column}\"" for column in first) + "}"


FIRST_ROW = "{'usage_date': usage_date, 'row_id': row_id}"  # a usage row's place: earliest day, then row id
USAGE_ROWS = _Measures((), "COUNT(*)", f"SUM({NARROW})",
                       f"SUM(CASE WHEN {NARROW} IS NULL THEN CAST(quantity AS DECIMAL(38, 12)) END)",
                       f"ARG_MIN(described, {FIRST_ROW})")
GROUP_ROWS = _Measures(("usage_rows",), "SUM(usage_rows)", "SUM(quantity_small)", "SUM(quantity_large)",
                       "ARG_MIN(described, first_row)")


def sum_files(
    root: Path,
    files: Sequence[str],
    rules: Sequence[MarkupRule],
    group_by: Sequence[str],
    *,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    threads: int | None = None,
    customer_keys: Mapping[str, str] | None = None,
    shard: Shard = WHOLE,
    grouped: Sequence[str] | None = None,
) -> list[UsageSum]:
    """Exact sums per group, markup rule (1 + index in ``rules``, 0: none) and currency of the usage ``files``
    (paths relative to ``root``), grouped by DuckDB within ``memory_limit`` (spilling to a temporary folder).
    With ``customer_keys`` the files' ``customer`` column is mapped through it first (ledger id to the key price
    rules name customers by); rows of a customer not in it have none. Only the rows whose ``customer`` column (a
    ledger id) is in ``shard`` are read. With ``grouped`` (the input ids that name what they were written from,
    each group's lineage) ``files`` are group files of :func:`write_groups` for the same ``group_by``."""
    check_group_by(group_by)
    if not files:
        return []
    measures = USAGE_ROWS if grouped is None else GROUP_ROWS
    paths = [str(root / name) for name in files]
    groups = [f"g{index}" for index in range(len(group_by))]
    case, parameters = _rule_case(rules)
    selected = ", ".join([*(f'"{column}" AS {alias}' for column, alias in zip(group_by, groups, strict=True)),
                          f"{case} AS rule", "currency", "cost_units", *measures.rows])
    order = ", ".join([*(f"{alias} ASC NULLS LAST" for alias in groups), "rule", "currency"])
    keys = ", ".join([*groups, "rule", "currency"])
    query = (f"SELECT {keys}, SUM(cost_units) AS cost, {measures.count} AS n "
             f"FROM (SELECT {selected} FROM {_usage(customer_keys, shard)}) "
             f"GROUP BY {keys} ORDER BY {order}")
    found = _run(root, query, [*parameters, paths], customer_keys, memory_limit, threads)
    read = [f"usage_file:{name}" for name in sorted(files)] if grouped is None else list(grouped)
    sums: list[UsageSum] = []
    for *values, rule, currency, cost, count in found:
        if currency is None:
            raise ValueError(f"usage files under {root} column currency: rows without a currency")
        group = tuple(values)
        sums.append(UsageSum(group=group, rule=int(rule), currency=str(currency), cost_units=int(cost),
                             rows=int(count), input_ids=read if not sums or sums[-1].group != group else ()))
    return sums


def group_details(
    root: Path,
    files: Sequence[str],
    group_by: Sequence[str],
    first: Sequence[str],
    *,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    customer_keys: Mapping[str, str] | None = None,
    shard: Shard = WHOLE,
    grouped: bool = False,
) -> dict[tuple[object, ...], dict[str, object]]:
    """Per group of the usage ``files``: the exact sum of the ``quantity`` column (decimal text, to 12 places) and
    the ``first`` columns of its earliest row (by ``usage_date``, then ``row_id``), for describing a line.

    Why quantities are summed in two parts: DuckDB parses text into a 38-digit decimal several times slower than into
    an 18-digit one (it was most of a build's usage time), so quantities that fit 18 digits (below a million at 12
    places: nearly all) are cast that way, the others into 38 digits, and the two exact sums are added here. With
    ``grouped``, ``files`` are group files of :func:`write_groups` for the same ``group_by`` and ``first``."""
    measures = USAGE_ROWS if not grouped else GROUP_ROWS
    groups = [f"g{index}" for index in range(len(group_by))]
    needed = ["quantity", "usage_date", "row_id"] if not grouped else ["quantity_small", "quantity_large", "first_row"]
    described = f"{_described(first)} AS described" if not grouped else "described"
    selected = ", ".join([*(f'"{column}" AS {alias}' for column, alias in zip(group_by, groups, strict=True)),
                          *(f'"{column}"' for column in needed), described])
    query = (f"SELECT {', '.join(groups)}, {measures.small}, {measures.large}, {measures.earliest} AS earliest "
             f"FROM (SELECT {selected} FROM {_usage(customer_keys, shard)}) GROUP BY {', '.join(groups)}")
    fields = ", ".join(f"earliest['{column}']" for column in first)  # one ARG_MIN, its fields as plain columns
    found = _run(root, f"SELECT * EXCLUDE (earliest), {fields} FROM ({query})", [[str(root / name) for name in files]],
                 customer_keys, memory_limit, None)
    width = len(groups)
    details = {}
    for row in found:
        small, large = row[width], row[width + 1]
        details[row[:width]] = {**dict(zip(first, row[width + 2:], strict=True)),
                                "quantity": Decimal(small or 0) + Decimal(large or 0)}
    return details


def write_groups(root: Path, files: Sequence[str], target: Path, group_by: Sequence[str], first: Sequence[str], *,
                 memory_limit: str = DEFAULT_MEMORY_LIMIT) -> None:
    """Sum the usage ``files`` into the group file ``target``: a row per customer, ``group_by`` group, column a
    markup rule can be scoped by and currency, with its cost units, rows, exact quantity parts and the ``first``
    columns of its earliest row (by ``usage_date``, then ``row_id``). :func:`sum_files`, :func:`group_details` and
    :func:`row_counts` read it (``grouped``) as they read the files, for any rules and any shard of customers.

    Why the earliest row is found by a join, not an ``ARG_MIN`` of its columns: DuckDB cannot spill that state, and
    over a month of groups it ran out of a 1 GB limit at 20 M rows. So the files are read twice: the sums with the
    earliest row's ``(usage_date, row_id)`` first (spillable), then those rows' columns, joined on the group (a
    group's ties on both keep the smallest description; a group keeps its sums whatever the join finds)."""
    check_group_by(group_by)
    columns = list(dict.fromkeys(["customer", *group_by, *SCOPE_COLUMNS, "currency"]))
    keys = ", ".join(f'"{column}"' for column in columns)
    sums = (f"SELECT {keys}, CAST(SUM(cost_units) AS DECIMAL(38, 0)) AS cost_units, COUNT(*) AS usage_rows, "
            f"{USAGE_ROWS.small} AS quantity_small, {USAGE_ROWS.large} AS quantity_large, "
            f"MIN({FIRST_ROW}) AS first_row "
            f"FROM read_parquet($files, union_by_name = true) GROUP BY {keys}")
    same = " AND ".join([*(f's."{column}" IS NOT DISTINCT FROM u."{column}"' for column in columns),
                         "s.first_row.usage_date IS NOT DISTINCT FROM u.usage_date",
                         "s.first_row.row_id IS NOT DISTINCT FROM u.row_id"])
    groups = ", ".join(f's."{column}"' for column in columns)
    query = (f"SELECT DISTINCT ON ({groups}) s.*, {_described(first, 'u.')} AS described "  # every group kept
             f"FROM ({sums}) AS s LEFT JOIN read_parquet($files, union_by_name = true) AS u ON {same} "
             f"ORDER BY {groups}, described")
    target.parent.mkdir(parents=True, exist_ok=True)
    literal = "'" + str(target).replace("'", "''") + "'"  # COPY takes no parameter for its file
    _run(root, f"COPY ({query}) TO {literal} (FORMAT parquet)", {"files": [str(root / name) for name in files]},
         None, memory_limit, None)


def row_counts(root: Path, files: Sequence[str], *, memory_limit: str = DEFAULT_MEMORY_LIMIT,
               threads: int | None = None, grouped: bool = False) -> dict[tuple[str | None, bool], int]:
    """How many rows of the usage ``files`` (with ``grouped``: group files) there are per currency and whether they
    name no customer: what a build reports about a whole month once, while each range of customers sums only its
    own rows."""
    if not files:
        return {}
    count = (USAGE_ROWS if not grouped else GROUP_ROWS).count
    query = (f"SELECT currency, customer IS NULL AS orphan, {count} FROM read_parquet(?, union_by_name = true) "
             "GROUP BY ALL")
    found = _run(root, query, [[str(root / name) for name in files]], None, memory_limit, threads)
    return {(currency, bool(orphan)): int(count) for currency, orphan, count in found}


def _usage(customer_keys: Mapping[str, str] | None, shard: Shard) -> str:
    """The relation of the usage files' rows of ``shard`` (one parameter: the list of paths)."""
    rows = "read_parquet(?, union_by_name = true)"
    if not shard.whole:
        rows = f"(SELECT * FROM {rows} WHERE {shard.duckdb('customer')})"
    if customer_keys is None:
        return rows
    return (f"(SELECT u.* REPLACE (k.key AS customer) FROM {rows} AS u "
            "LEFT JOIN customer_keys AS k ON u.customer = k.id)")


def _run(root: Path, query: str, parameters: list[object] | dict[str, object], customer_keys: Mapping[str, str] | None,
         memory_limit: str, threads: int | None) -> list[tuple]:
    import duckdb  # imported by the run, not the module: every command that builds a batch imports this one
    import pyarrow as pa

    with duckdb.connect(config=_settings(root, memory_limit, threads)) as connection:
        if customer_keys is not None:
            keys = pa.table([pa.array(list(customer_keys), pa.string()),
                             pa.array(list(customer_keys.values()), pa.string())], names=["id", "key"])
            connection.register("customer_keys", keys)
        try:
            return connection.execute(query, parameters).fetchall()
        except duckdb.BinderException as exc:
            raise ValueError(f"usage files under {root} lack a column grouped or priced by: {exc}") from None


def _rule_case(rules: Sequence[MarkupRule]) -> tuple[str, list[str]]:
    """``CASE`` giving each row 1 + the index of the first rule whose scope it matches (0: none), with its
    parameters; column names come from ``rule_scope`` (ours), values are bound."""
    branches, parameters = [], []
    for position, rule in enumerate(rules, start=1):
        scope = rule_scope(rule)
        condition = " AND ".join(f'"{column}" = ?' for column, _ in scope) or "TRUE"
        parameters += [value for _, value in scope]
        branches.append(f"WHEN {condition} THEN {position}")
    return (f"CASE {' '.join(branches)} ELSE 0 END" if branches else "0"), parameters


def _settings(root: Path, memory_limit: str, threads: int | None) -> dict[str, str | int]:
    settings: dict[str, str | int] = {"memory_limit": memory_limit, "preserve_insertion_order": "false",
                                      "temp_directory": str(root / ".duckdb_spill")}
    if threads is not None:
        settings["threads"] = threads
    return settings
