"""The mutation revisions (``ledger.revisions``): the database raises a legal entity's counter on every insert,
update and delete of its mutations, whoever writes them (the ORM, a Core statement, plain SQL), and leaves the other
legal entities' counters alone; a statement over many rows raises it at least once. The batch page trusts its stored
vendor counts only while this counter stands still, so a change it missed would show a stale figure."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from config import Settings
from ledger.models import Mutation, MutationRevision
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.services.batches.test_batch_support import add_customer, add_subscription, mutation


def _revisions(settings: Settings) -> dict[str, int]:
    with UnitOfWork(engine_for(settings)) as uow:
        codes = {tenant.id: tenant.code for tenant in uow.tenants.all()}
        return {codes[tenant]: revision for tenant, revision in
                uow.session.execute(select(MutationRevision.tenant_id, MutationRevision.revision))}


def test_every_change_to_a_legal_entitys_mutations_raises_its_revision(settings: Settings) -> None:
    initialise(settings)
    assert _revisions(settings) == {}
    nl, de = add_customer(settings, "nl-bv", "Fabrikam"), add_customer(settings, "de-gmbh", "Contoso", country="DE")
    nl_sub = add_subscription(settings, "nl-bv", nl, "sub-nl", "2026-03-01")
    de_sub = add_subscription(settings, "de-gmbh", de, "sub-de", "2026-03-01")
    first = mutation(settings, "nl-bv", nl, nl_sub, "increase", "2026-04-10", 5)  # the ORM
    mutation(settings, "nl-bv", nl, nl_sub, "increase", "2026-04-12", 6)
    mutation(settings, "de-gmbh", de, de_sub, "increase", "2026-04-12", 3)
    seen = _revisions(settings)
    assert seen["nl-bv"] >= 2 and seen["de-gmbh"] >= 1

    with UnitOfWork(engine_for(settings), write=True) as uow:  # a Core statement over both of nl-bv's mutations
        uow.session.execute(update(Mutation).where(Mutation.subscription_id == nl_sub).values(status="cancelled"))
    after_update = _revisions(settings)
    assert after_update["nl-bv"] > seen["nl-bv"] and after_update["de-gmbh"] == seen["de-gmbh"]

    with UnitOfWork(engine_for(settings), write=True) as uow:  # plain SQL
        uow.session.connection().exec_driver_sql(f"UPDATE mutations SET reason = 'typo' WHERE id = {first}")
    after_sql = _revisions(settings)
    assert after_sql["nl-bv"] > after_update["nl-bv"]

    with UnitOfWork(engine_for(settings), write=True) as uow:
        uow.session.execute(delete(Mutation).where(Mutation.id == first))
    after_delete = _revisions(settings)
    assert after_delete["nl-bv"] > after_sql["nl-bv"] and after_delete["de-gmbh"] == seen["de-gmbh"]


def test_a_statement_that_changes_nothing_leaves_the_revision_alone(settings: Settings) -> None:
    initialise(settings)
    customer = add_customer(settings, "nl-bv", "Fabrikam")
    mutation(settings, "nl-bv", customer, add_subscription(settings, "nl-bv", customer, "s", "2026-03-01"),
             "increase", "2026-04-10", 5)
    before = _revisions(settings)
    with UnitOfWork(engine_for(settings), write=True) as uow:
        uow.session.execute(update(Mutation).where(Mutation.id < 0).values(status="cancelled"))
    assert _revisions(settings) == before
