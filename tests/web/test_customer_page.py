"""The desk's customer page: master data shown, edited through the desk service (validation with the field named,
tenant checked, audited), only changed fields sent."""

from __future__ import annotations

from config import Settings
from config.vat import ViesConfig
from sandbox import vies
from sandbox.core import SandboxServer
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.conftest import sqlite_only
from tests.services.batches.test_batch_support import add_customer
from tests.services.batches.test_blocking_findings import draft  # noqa: F401 - the draft batch fixture, reused
from tests.services.sync.test_vat_checks import sandbox  # noqa: F401 - the VIES sandbox fixture, reused
from tests.web.conftest import signed_in
from tests.web.test_actions import follow, post

pytestmark = sqlite_only  # pages over the services: both databases are covered below them


def test_the_desk_edits_master_data_and_a_bad_vat_id_is_refused(settings: Settings) -> None:
    initialise(settings)
    customer = add_customer(settings, "de-gmbh", "Wiener Kaffee GmbH", country="AT")
    dana = signed_in(settings, "dana")
    assert f'<a href="/customers/{customer}">edit</a>' in dana.get("/customers").text
    form = {"street": "Ringstraße 1", "city": "Wien", "postal_code": "1010", "country": "AT", "vat_id": "ATU13585627",
            "delivery_channel": "email", "email": "buchhaltung@kaffee.example"}
    page = follow(dana, post(dana, f"/customers/{customer}", **form))
    assert "Customer" in page and "saved (street, city, postal_code, vat_id, delivery_channel, email)" in page
    assert 'value="ATU13585627"' in page and 'value="Ringstraße 1"' in page
    refused = post(dana, f"/customers/{customer}", **{**form, "vat_id": "ATU13585628"})
    assert refused.status_code == 422
    assert f"customer {customer} vat_id: &#39;ATU13585628&#39; is not a valid VAT id of AT" in refused.text
    assert 'value="ATU13585628"' in refused.text  # the form keeps what was typed


def test_another_entitys_finance_does_not_find_the_customer(settings: Settings) -> None:
    initialise(settings)
    customer = add_customer(settings, "de-gmbh", "Wiener Kaffee GmbH", country="AT")
    assert signed_in(settings, "finn").get(f"/customers/{customer}").status_code == 404


def test_the_check_button_asks_vies_and_shows_the_answer(settings: Settings, sandbox: SandboxServer) -> None:  # noqa: F811
    initialise(settings)
    customer = add_customer(settings, "de-gmbh", "Wiener Kaffee GmbH", country="AT", vat_id="ATU13585627")
    online = settings.model_copy(update={"vies": ViesConfig(enabled=True, wsdl_url=f"{sandbox.url}{vies.WSDL_PATH}",
                                                            ca_bundle=sandbox.ca)})
    dana = signed_in(online, "dana")
    page = follow(dana, post(dana, f"/customers/{customer}/check-vat"))
    assert "VIES says valid for ATU13585627." in page and '<dd id="vies">valid at' in page


def test_the_batch_page_lists_blocking_findings_with_links(settings: Settings, draft: dict[str, int]) -> None:  # noqa: F811
    with UnitOfWork(engine_for(settings)) as uow:
        batch = uow.batches.for_month(uow.tenants.by_code("de-gmbh").id, "2026-04")
    page = signed_in(settings, "greta").get(f"/batches/{batch.id}").text
    assert "Blocking findings: approval is refused until these customers are complete" in page
    assert f'<a href="/customers/{draft["peppol"]}">Stad Gent</a> <code>peppol_id</code>' in page
