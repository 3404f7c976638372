"""The desk's mutation form in two steps (preview, then save), its plausibility limits and the withdraw button,
through the real app and services: nothing is stored until the second submit, nothing at all on bad input."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from config import Settings
from ledger.models import AuditEvent, Mutation
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.web.conftest import signed_in
from tests.web.seed import Seeded
from tests.web.test_actions import follow, post

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def stored(settings: Settings) -> int:
    with UnitOfWork(engine_for(settings)) as uow:
        return uow.session.scalar(select(func.count()).select_from(Mutation))


def form(**fields: str) -> dict[str, str]:
    return {"kind": "increase", "effective_date": "2026-12-01", "ticket_ref": "INC-7", **fields}


def text_of(html: str, element_id: str) -> str:
    found = re.search(f'id="{element_id}"[^>]*>(.*?)</(dd|p)>', html, re.S)
    assert found, f"no #{element_id} on the page"
    return re.sub(r"<[^>]+>|\s+", " ", found.group(1)).strip()


def test_the_first_submit_previews_seats_and_monthly_amount_and_stores_nothing(settings: Settings,
                                                                                seeded: Seeded) -> None:
    dana = signed_in(settings, "dana")
    page = post(dana, f"/subscriptions/{seeded.nl_subscription}/mutations", **form(delta="+2"))
    assert page.status_code == 200 and stored(settings) == 0
    assert text_of(page.text, "preview-seats") == "12 → 14 (+2)"
    # Contoso's price: vendor cost 30.40 + 15 % = 34.96 a seat and month (the seeded price rule)
    assert text_of(page.text, "preview-monthly").startswith("419.52 EUR → 489.44 EUR (+69.92 EUR a month)")
    assert 'id="jump"' not in page.text and 'name="step" value="save"' in page.text
    saved = follow(dana, post(dana, f"/subscriptions/{seeded.nl_subscription}/mutations", step="save",
                              **form(delta="+2")))
    assert "Mutation saved: increase effective 2026-12-01 (ticket INC-7, status open)" in saved
    assert stored(settings) == 1


def test_a_big_jump_needs_the_confirm_box_on_the_second_submit(settings: Settings, seeded: Seeded) -> None:
    dana = signed_in(settings, "dana")
    url = f"/subscriptions/{seeded.nl_subscription}/mutations"
    page = post(dana, url, **form(new_quantity="400"))
    assert "From 12 to 400 seats is a change of +388 (+3233 %)" in text_of(page.text, "jump")
    assert 'id="confirm" name="confirm"' in page.text
    unconfirmed = post(dana, url, step="save", **form(new_quantity="400"))
    assert unconfirmed.status_code == 422 and stored(settings) == 0
    assert re.search(r'id="confirm-error" role="alert">This is a big change: tick “confirm”', unconfirmed.text)
    assert "Mutation saved" in follow(dana, post(dana, url, step="save", confirm="1", **form(new_quantity="400")))
    assert stored(settings) == 1


@pytest.mark.parametrize(("fields", "field", "sentence"), [
    ({"new_quantity": "12345678901234567890"}, "new_quantity",
     "12,345,678,901,234,567,890 seats is more than the 10,000 this product allows."),
    ({"delta": "+99999"}, "delta", "100,011 seats is more than the 10,000 this product allows."),
    ({"delta": "-20"}, "delta", "This change would leave -8 seats; a subscription cannot have fewer than 0."),
    ({"delta": "three"}, "delta", "“three” is not a number: enter a change such as +3 or -2."),
    ({"new_quantity": "-3"}, "new_quantity", "A seat count cannot be below 0"),
    ({"new_quantity": "14", "delta": "+2"}, "new_quantity",
     "Enter the new seat count, a change (+3 or -2), or tick cancel — one of them."),
    ({"new_quantity": "12"}, "new_quantity", "The subscription has 12 seats already"),
])
@pytest.mark.parametrize("step", ["check", "save"])
def test_implausible_seats_are_refused_next_to_the_field_and_nothing_is_stored(
        settings: Settings, seeded: Seeded, fields: dict[str, str], field: str, sentence: str, step: str) -> None:
    dana = signed_in(settings, "dana")
    response = post(dana, f"/subscriptions/{seeded.nl_subscription}/mutations", step=step, confirm="1",
                    **form(**fields))
    assert response.status_code == 422
    assert text_of(response.text, f"{field}-error").startswith(sentence)
    assert f'aria-describedby="{field}-error"' in response.text and 'id="preview"' not in response.text
    assert stored(settings) == 0


def test_a_pending_mutation_is_withdrawn_and_audited_a_second_withdraw_changes_nothing(settings: Settings,
                                                                                     seeded: Seeded) -> None:
    dana = signed_in(settings, "dana")
    follow(dana, post(dana, f"/subscriptions/{seeded.nl_subscription}/mutations", step="save", **form(delta="1")))
    with UnitOfWork(engine_for(settings)) as uow:
        mutation_id = uow.session.scalar(select(Mutation.id))
    detail = dana.get(f"/mutations/{mutation_id}").text
    assert "Still pending" in detail and f'action="/mutations/{mutation_id}/cancel"' in detail
    page = follow(dana, post(dana, f"/mutations/{mutation_id}/cancel", back=f"/subscriptions/{seeded.nl_subscription}"))
    assert f"Mutation {mutation_id} withdrawn (increase effective 2026-12-01, ticket INC-7)" in page
    assert "Still pending" not in dana.get(f"/mutations/{mutation_id}").text
    with UnitOfWork(engine_for(settings)) as uow:
        (event,) = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "mutation.cancel")).all()
        assert (event.actor, event.entity_id, event.after["status"]) == ("dana", str(mutation_id), "cancelled")


def test_a_mutation_the_vendor_has_cannot_be_withdrawn(settings: Settings, seeded: Seeded) -> None:
    dana: TestClient = signed_in(settings, "dana")
    follow(dana, post(dana, f"/subscriptions/{seeded.nl_subscription}/mutations", step="save", **form(delta="1")))
    with UnitOfWork(engine_for(settings), write=True) as uow:
        mutation = uow.session.scalars(select(Mutation)).one()
        mutation.status = "provisioned"  # reconciliation saw it at the vendor
        mutation_id = mutation.id
    page = follow(dana, post(dana, f"/mutations/{mutation_id}/cancel"))
    assert (f"Mutation {mutation_id} cannot be withdrawn: the vendor already shows this change. Enter a new "
            "mutation to change the seats back.") in page
