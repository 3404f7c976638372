"""The batch review cockpit over HTTP: findings beside Approve, Approve disabled with a sentence while any blocks,
an acknowledgement refused next to its field (422, nothing stored) or recorded, the roles and tabs."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from config import Settings
from ledger.models import FindingAck
from services.batches import batch_review_findings
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.batches.test_review_findings import MONTH, april  # noqa: F401 - the draft fixture, reused
from tests.web.conftest import signed_in
from tests.web.test_actions import follow, post


def _batch_id(settings: Settings) -> int:
    with UnitOfWork(engine_for(settings)) as uow:
        return uow.batches.for_month(uow.tenants.by_code("nl-bv").id, MONTH).id


def _acks(settings: Settings) -> int:
    with UnitOfWork(engine_for(settings)) as uow:
        return uow.session.scalar(select(func.count()).select_from(FindingAck))


def test_findings_beside_approve_and_acknowledged_with_a_reason(settings: Settings,
                                                                april: dict[str, int]) -> None:  # noqa: F811
    batch = _batch_id(settings)
    margin = next(f for f in batch_review_findings(settings, "nl-bv", MONTH, actor(settings, "finn"))
                  if f["kind"] == "negative_margin")
    anna = signed_in(settings, "anna")
    page = anna.get(f"/batches/{batch}").text
    decision = page[page.index('id="decide"'):]
    assert "4 findings: 1 to complete, 3 to acknowledge, 0 acknowledged." in decision
    assert re.search(r'<button type="submit" class="primary" disabled aria-describedby="approve-blocked">', decision)
    assert "Approval is not possible yet: 4 findings still block it (1 need the customer completed)." in decision
    assert margin["sentence"] in decision and "Kaal BV" in decision
    assert 'aria-current="page">Overview' in page and f'href="/batches/{batch}?tab=invoices"' in page

    url = f"/batches/{batch}/findings/{margin['id']}/acknowledge"
    assert post(signed_in(settings, "dana"), url, reason="ok").status_code == 403
    assert post(signed_in(settings, "greta"), url, reason="ok").status_code == 404
    refused = post(anna, url, reason="   ")
    assert refused.status_code == 422 and _acks(settings) == 0
    error = re.search(rf'<p class="field-error" id="reason-{margin["id"]}-error">(.*?)</p>', refused.text).group(1)
    assert f"finding {margin['id']} reason: give the reason" in error
    assert f'aria-describedby="reason-{margin["id"]}-error"' in refused.text

    page = follow(anna, post(anna, url, reason="price agreed until June"))
    assert f"Finding {margin['id']} acknowledged: price agreed until June" in page
    assert "acknowledged</span> by anna" in page and "price agreed until June" in page
    assert "4 findings: 1 to complete, 2 to acknowledge, 1 acknowledged." in page and _acks(settings) == 1


def test_the_tabs_hold_discrepancies_invoices_and_changes(settings: Settings,
                                                          april: dict[str, int]) -> None:  # noqa: F811
    finn, batch = signed_in(settings, "finn"), _batch_id(settings)
    assert "Approve batch" not in finn.get(f"/batches/{batch}").text  # finn acknowledges, an approver approves
    assert 'name="reason"' in finn.get(f"/batches/{batch}").text
    invoices = finn.get(f"/batches/{batch}?tab=invoices").text
    assert "Invoices of batch nl-bv 2026-04" in invoices and "Net per customer" not in invoices
    changes = finn.get(f"/batches/{batch}?tab=changes").text
    assert "Net per subscription" in changes and "Invoices of batch" not in changes
    discrepancies = finn.get(f"/batches/{batch}?tab=discrepancies").text
    assert "Open discrepancies affecting this batch" in discrepancies and "billed 5, vendor 6" in discrepancies
    assert "Totals per currency" in finn.get(f"/batches/{batch}?tab=nonsense").text  # unknown tab: the overview


def test_each_tab_works_out_only_what_it_shows(settings: Settings, april: dict[str, int],  # noqa: F811
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """At 300 k invoices the findings and each diff cost seconds: the invoices and discrepancies tabs work out
    none of them, the changes tab only the per-subscription diff, the overview the findings and the customer diff."""
    import services.batches.review as review

    worked: list[str] = []
    diff, findings = review._diff, review.review_findings
    monkeypatch.setattr(review, "_diff", lambda uow, batch_id, previous_id, per, *rest: (
        worked.append(f"{per} changes"), diff(uow, batch_id, previous_id, per, *rest))[1])
    monkeypatch.setattr(review, "review_findings", lambda *args: (worked.append("findings"), findings(*args))[1])
    finn, batch = signed_in(settings, "finn"), _batch_id(settings)
    shown = {}
    for tab in ("invoices", "discrepancies", "changes", "overview"):
        worked.clear()
        page = finn.get(f"/batches/{batch}?tab={tab}")
        assert page.status_code == 200
        shown[tab] = sorted(worked)
    assert shown == {"invoices": [], "discrepancies": [], "changes": ["subscription changes"],
                     "overview": ["customer changes", "findings"]}
    overview = finn.get(f"/batches/{batch}").text
    assert "4 findings: 1 to complete, 3 to acknowledge, 0 acknowledged." in overview and "Net per customer" in overview
