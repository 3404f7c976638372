"""The ERP keys of invoices and lines: valid for every adapter, deterministic, and distinct for distinct invoices."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erp_export.documents import KEY_PATTERN, LINE_KEY_PATTERN
from services.export import LINE_REF_MAX, erp_reference, line_reference

tenant_codes = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,39}", fullmatch=True)
numbers = st.from_regex(r"[A-Z0-9][A-Z0-9-]{0,30}", fullmatch=True)


@pytest.mark.parametrize(("tenant", "number", "key"), [
    ("nl-bv", "NL2026-00001", "CSP-NL-BV-NL2026-00001"),
    ("de-gmbh", "DE-2026-100001", "CSP-DE-GMBH-DE-2026-100001"),
    ("nl_bv", "2026/7", "CSP-NL-BV-2026-7"),
    ("a-very-long-legal-entity-code", "2026-000001", "CSP-A-VERY-LONG-LEGAL-EN-E6F0CE8289"),
])
def test_reference_examples(tenant: str, number: str, key: str) -> None:
    assert erp_reference(tenant, number) == key


@given(tenant_codes, numbers)
def test_reference_is_valid_for_every_erp(tenant: str, number: str) -> None:
    key = erp_reference(tenant, number)
    assert KEY_PATTERN.fullmatch(key)
    assert erp_reference(tenant, number) == key


@given(tenant_codes, numbers, numbers)
def test_distinct_numbers_of_one_tenant_get_distinct_references(tenant: str, first: str, second: str) -> None:
    if first != second:
        assert erp_reference(tenant, first) != erp_reference(tenant, second)


@pytest.mark.parametrize(("line_key", "reference"), [
    ("nl-bv:c1:sub1:2026-05:charge:v1", "nl-bv:c1:sub1:2026-05:charge:v1"),
    ("nl-bv/1/7/2026-04-10..2026-05-09/charge/v1", "nl-bv:1:7:2026-04-10..2026-05-09:charge:v1"),
    ("nl-bv/1/a:b/2026-04-10..2026-05-09/charge/v1", "K-6f63fe0b0f9d470bdf8b034e675a8f251f6bb935"),
])
def test_line_reference_examples(line_key: str, reference: str) -> None:
    assert line_reference(line_key) == reference


segments = st.lists(st.text(min_size=1, max_size=30).filter(lambda t: "/" not in t), min_size=2, max_size=6)


@given(st.lists(segments.map("/".join), min_size=2, max_size=2, unique=True))
def test_distinct_ledger_line_keys_get_distinct_references(keys: list[str]) -> None:
    """Ledger keys are ``/``-separated (services.batches.lines); distinct ones never share an ERP reference."""
    assert line_reference(keys[0]) != line_reference(keys[1])


@given(st.text(min_size=1, max_size=300))
def test_line_reference_fits_every_adapter_and_keeps_fitting_keys(line_key: str) -> None:
    reference = line_reference(line_key)
    assert LINE_KEY_PATTERN.fullmatch(reference) and len(reference) <= LINE_REF_MAX
    if len(line_key) <= LINE_REF_MAX and LINE_KEY_PATTERN.fullmatch(line_key):
        assert reference == line_key
