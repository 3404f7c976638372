"""Customer master data through the desk service: every field validated with a sentence naming it, the VAT id
checked against the customer's country with python-stdnum, tenants kept apart, and each change audited."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from config import Settings
from ledger.models import AuditEvent
from services.clock import FixedClock
from services.desk import customer_detail, update_master_data
from services.errors import NotAllowed, NotFound, ValidationFailed
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer

CLOCK = FixedClock(dt.datetime(2026, 10, 5, 9, tzinfo=dt.UTC))


@pytest.fixture
def customer(settings: Settings) -> int:
    initialise(settings)
    return add_customer(settings, "de-gmbh", "Boulangerie SARL", country="FR")


def test_the_desk_sets_every_field_and_the_change_is_audited(settings: Settings, customer: int) -> None:
    changes = {"street": "1 Rue de Rivoli", "city": "Paris", "postal_code": "75001", "vat_id": "FR 40 303265045",
               "peppol": "0009:30326504500018", "payment_terms_days": "45", "delivery_channel": "peppol",
               "email": "compta@boulangerie.example", "contact_name": "Claire Martin", "language": "fr"}
    view = update_master_data(settings, actor(settings, "dana"), customer, changes, CLOCK)
    assert (view.street, view.city, view.postal_code, view.vat_id, view.peppol, view.payment_terms_days,
            view.delivery_channel, view.email, view.language) == (
        "1 Rue de Rivoli", "Paris", "75001", "FR40303265045", "0009:30326504500018", 45, "peppol",
        "compta@boulangerie.example", "fr")
    assert customer_detail(settings, actor(settings, "greta"), customer) == view
    with UnitOfWork(engine_for(settings)) as uow:
        [event] = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "customer.master_data")).all()
        assert event.actor == "dana"
        assert event.before["street"] == "Hoofdstraat 1" and event.after["street"] == "1 Rue de Rivoli"
        assert event.before["vat_id"] is None and event.after["vat_id"] == "FR40303265045"


def test_setting_the_same_values_again_records_nothing(settings: Settings, customer: int) -> None:
    for _ in range(2):
        update_master_data(settings, actor(settings, "dana"), customer, {"city": "Paris"}, CLOCK)
    with UnitOfWork(engine_for(settings)) as uow:
        events = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "customer.master_data")).all()
        assert len(events) == 1


@pytest.mark.parametrize(("changes", "message"), [
    ({"vat_id": "FR40303265046"}, "vat_id: 'FR40303265046' is not a valid VAT id of FR"),
    ({"vat_id": "DE136695976"}, "vat_id: 'DE136695976' does not start with FR, the prefix of FR"),
    ({"country": "DE", "vat_id": "FR40303265045"}, "vat_id: 'FR40303265045' does not start with DE"),
    ({"email": "compta at boulangerie"}, "email: 'compta at boulangerie' is not an e-mail address"),
    ({"peppol": "1234:567"}, "peppol: scheme '1234' is not a known Peppol EAS code"),
    ({"peppol": "0009"}, "peppol: '0009' is not SCHEME:ID"),
    ({"payment_terms_days": "366"}, "payment_terms_days: 366 is not between 0 and 365 days"),
    ({"payment_terms_days": "-1"}, "payment_terms_days: -1 is not between 0 and 365 days"),
    ({"payment_terms_days": "thirty"}, "payment_terms_days: 'thirty' is not a whole number of days"),
    ({"postal_code": "  "}, "postal_code: must not be empty where given"),
    ({"delivery_channel": "fax"}, "delivery_channel: 'fax' is not one of email, peppol, erp"),
    ({"country": "France"}, "country: 'FRANCE' is not a two-letter ISO country code"),
    ({"leitweg_id": "abc"}, "leitweg_id: 'abc' is not a Leitweg-ID"),
    ({"colour": "red"}, "colour: not a master-data field"),
])
def test_bad_input_is_refused_naming_customer_and_field(settings: Settings, customer: int, changes: dict[str, str],
                                                        message: str) -> None:
    with pytest.raises(ValidationFailed, match=f"^customer {customer} ") as refused:
        update_master_data(settings, actor(settings, "dana"), customer, changes, CLOCK)
    assert message in str(refused.value)
    assert customer_detail(settings, actor(settings, "dana"), customer).vat_id is None


@pytest.mark.parametrize(("changes", "expected"), [
    ({"payment_terms_days": "0"}, 0),
    ({"payment_terms_days": "365"}, 365),
    ({"payment_terms_days": ""}, None),
])
def test_payment_terms_bounds(settings: Settings, customer: int, changes: dict[str, str], expected: int | None) -> None:
    view = update_master_data(settings, actor(settings, "dana"), customer, changes, CLOCK)
    assert view.payment_terms_days == expected


def test_an_empty_value_clears_a_field(settings: Settings, customer: int) -> None:
    who = actor(settings, "dana")
    update_master_data(settings, who, customer, {"peppol": "0009:30326504500018", "email": "a@b.example"}, CLOCK)
    view = update_master_data(settings, who, customer, {"peppol": "", "email": ""}, CLOCK)
    assert (view.peppol_scheme, view.peppol_id, view.email) == (None, None, None)


def test_another_entitys_finance_cannot_see_or_change_the_customer(settings: Settings, customer: int) -> None:
    with pytest.raises(NotFound):
        update_master_data(settings, actor(settings, "finn"), customer, {"city": "Lyon"}, CLOCK)
    with pytest.raises(NotFound):
        customer_detail(settings, actor(settings, "anna"), customer)


def test_a_service_account_without_desk_role_is_refused(settings: Settings, customer: int) -> None:
    with pytest.raises(NotAllowed):
        update_master_data(settings, actor(settings, "svc-nightly"), customer, {"city": "Lyon"}, CLOCK)
