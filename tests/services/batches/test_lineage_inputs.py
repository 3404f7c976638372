"""Reading back the records a line's lineage names (the formats the build and the price book write)."""

from __future__ import annotations

import pytest

from services.batches.inputs import Reference, references


@pytest.mark.parametrize(("text", "named"), [
    ("snapshot:41", [("snapshot", 41)]),
    ("mutation:7", [("mutation", 7)]),
    ("usage_row:1203", [("usage-row", 1203)]),
    ("usage_file_set:12", [("usage-file-set", 12)]),
    ("cost_line:88", [("cost-line", 88)]),
    ("subscription:5.end_date", [("subscription", 5)]),
    ("cost 30.40 (snapshot 41) + 15% (price rule 3 (price_rules[0]))", [("snapshot", 41), ("price-rule", 3)]),
    ("cost 30.4 (snapshot:41) + 15% (price rule 3 (price_rules[0]))", [("snapshot", 41), ("price-rule", 3)]),
    ("cost 12.31 (cost line 9) + 20% (price rule 2)", [("cost-line", 9), ("price-rule", 2)]),
    ("erp price 10.2 (list price 17) + -5% (price rule 4 (EN at ERP -5%))", [("list-price", 17), ("price-rule", 4)]),
    ("price rule 6 (Premium fixed) fixed 20.00", [("price-rule", 6)]),
    ("price rule 6 fixed 20.00 (price rule 6)", [("price-rule", 6)]),  # each record once
    ("changes[2]", []),  # a rate-case input names no ledger record
    ("", []),
])
def test_the_records_a_lineage_entry_names(text: str, named: list[tuple[str, int]]) -> None:
    assert [(r.kind, r.record_id) for r in references(text)] == named


def test_a_reference_keeps_the_words_that_name_it() -> None:
    assert references("cost 1 (cost line 9)") == [Reference("cost-line", 9, "cost line 9")]
