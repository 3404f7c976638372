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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from ledger.shards import WHOLE, Shard
from rating.consumption import UsageSum, check_group_by, rule_scope
from rating.pricing import MarkupRule

DEFAULT_MEMORY_LIMIT = "1GB"


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
) -> list[UsageSum]:
    """Exact sums per group, markup rule (1 + index in ``rules``, 0: none) and currency of the usage ``files``
    (paths relative to ``root``), grouped by DuckDB within ``memory_limit`` (spilling to a temporary folder).
    With ``customer_keys`` the files' ``customer`` column is mapped through it first (ledger id to the key price
    rules name customers by); rows of a customer not in it have none. Only the rows whose ``customer`` column (a
    ledger id) is in ``shard`` are read."""
    check_group_by(group_by)
    if not files:
        return []
    paths = [str(root / name) for name in files]
    groups = [f"g{index}" for index in range(len(group_by))]
    case, parameters = _rule_case(rules)
    selected = ", ".join([*(f'"{column}" AS {alias}' for column, alias in zip(group_by, groups, strict=True)),
                          f"{case} AS rule", "currency", "cost_units"])
    order = ", ".join([*(f"{alias} ASC NULLS LAST" for alias in groups), "rule", "currency"])
    keys = ", ".join([*groups, "rule", "currency"])
    query = (f"SELECT {keys}, SUM(cost_units) AS cost, COUNT(*) AS n "
             f"FROM (SELECT {selected} FROM {_usage(customer_keys, shard)}) "
             f"GROUP BY {keys} ORDER BY {order}")
    found = _run(root, query, [*parameters, paths], customer_keys, memory_limit, threads)
    read = [f"usage_file:{name}" for name in sorted(files)]
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
) -> dict[tuple[object, ...], dict[str, object]]:
    """Per group of the usage ``files``: the exact sum of the ``quantity`` column (decimal text, to 12 places) and
    the ``first`` columns of its earliest row (by ``usage_date``, then ``row_id``), for describing a line.

    Why quantities are summed in two parts: DuckDB parses text into a 38-digit decimal several times slower than into
    an 18-digit one (it was most of a build's usage time), so quantities that fit 18 digits (below a million at 12
    places: nearly all) are cast that way, the others into 38 digits, and the two exact sums are added here."""
    groups = [f"g{index}" for index in range(len(group_by))]
    selected = ", ".join([*(f'"{column}" AS {alias}' for column, alias in zip(group_by, groups, strict=True)),
                          *(f'"{column}"' for column in dict.fromkeys(["quantity", "usage_date", "row_id", *first]))])
    narrow = "TRY_CAST(quantity AS DECIMAL(18, 12))"
    described = ", ".join(f'"{column}"' for column in first)
    earliest = f"ARG_MIN(ROW({described}), (usage_date, row_id))"  # one state per group for all of them
    query = (f"SELECT {', '.join(groups)}, SUM({narrow}), "
             f"SUM(CASE WHEN {narrow} IS NULL THEN CAST(quantity AS DECIMAL(38, 12)) END), {earliest} "
             f"FROM (SELECT {selected} FROM {_usage(customer_keys, shard)}) GROUP BY {', '.join(groups)}")
    found = _run(root, query, [[str(root / name) for name in files]], customer_keys, memory_limit, None)
    details = {}
    for *group, small, large, values in found:
        quantity = Decimal(small or 0) + Decimal(large or 0)
        details[tuple(group)] = {**dict(zip(first, values, strict=True)), "quantity": quantity}
    return details


def row_counts(root: Path, files: Sequence[str], *, memory_limit: str = DEFAULT_MEMORY_LIMIT,
               threads: int | None = None) -> dict[tuple[str | None, bool], int]:
    """How many rows of the usage ``files`` there are per currency and whether they name no customer: what a build
    reports about a whole month once, while each range of customers sums only its own rows."""
    if not files:
        return {}
    query = ("SELECT currency, customer IS NULL AS orphan, COUNT(*) FROM read_parquet(?, union_by_name = true) "
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


def _run(root: Path, query: str, parameters: list[object], customer_keys: Mapping[str, str] | None,
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
