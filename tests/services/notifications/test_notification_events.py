"""The events that queue notifications, through the real use cases: a reconcile run that finds a new blocking
finding, and `cspbill notify run` / `notify status` through the real CLI."""

from __future__ import annotations

import datetime as dt
import email
import json
from email import policy
from pathlib import Path

import pytest
import yaml

from config import Settings
from config.notifications import NotificationsConfig
from sandbox import smtp_catcher
from services.batches import build_batch
from services.clock import FixedClock
from services.desk import reconcile
from services.notifications.outbox import send_notifications
from services.operations import initialise
from tests.cli import run_cli
from tests.conftest import demo_config_data
from tests.identity import actor, nightly, people_env
from tests.services.desk.test_reconcile import nights
from tests.services.export.test_export_outbox import NOW, nl, run, seed_invoices, soap, soap_env
from tests.services.notifications.test_notification_outbox import catcher, mails, notifying
from tests.services.sync.test_sync_support import Vendor

__all__ = ["catcher", "nl", "soap", "soap_env"]


def test_a_new_blocking_finding_is_mailed_once(settings: Settings, catcher: smtp_catcher.SmtpCatcher) -> None:
    on = notifying(settings, catcher.port)
    section = on.notifications.model_copy(update={
        "blocking_kinds": ["vendor_change_unexplained"],
        "recipients": {"de-gmbh": {"blocking_finding": ["greta@wolkwerk.example"]}}})
    on = on.model_copy(update={"notifications": section})
    nights(on, Vendor(), {1: {"s1": 10}, 3: {"s1": 12}})
    for day in (4, 5):  # the second run finds the same finding again: no news
        reconcile(on, actor(on, "dana"), FixedClock(dt.datetime(2026, 5, day, 9, tzinfo=dt.UTC)), month="2026-05")
        send_notifications(on, nightly(on), clock=FixedClock(dt.datetime(2026, 5, day, 10, tzinfo=dt.UTC)))
    [mail] = mails(catcher)
    assert (mail["To"], mail["Subject"]) == ("greta@wolkwerk.example",
                                             "[cspbill] 1 new blocking finding(s) for de-gmbh")
    assert "vendor_change_unexplained: sub " in mail.get_content() and "vendor shows 12" in mail.get_content()


def test_an_export_that_failed_for_good_is_mailed(nl: Settings, catcher: smtp_catcher.SmtpCatcher) -> None:
    section = NotificationsConfig.model_validate({
        "enabled": True, "smtp": {"host": catcher.host, "port": catcher.port, "starttls": False,
                                  "from": "cspbill@wolkwerk.example"},
        "recipients": {"nl-bv": {"export_failed": ["finn@wolkwerk.example"]}}})
    on = nl.model_copy(update={"notifications": section})
    seed_invoices(on, customers=["C00001", "C99999"])
    assert [o.action for o in run(on)] == ["created", "failed"]
    send_notifications(on, nightly(on), clock=FixedClock(NOW))
    [mail] = mails(catcher)
    assert mail["Subject"].startswith("[cspbill] Export of invoice NL2026-05002 (nl-bv) failed")
    assert "The Customer does not exist" in mail.get_content()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_notify_run_and_status_through_the_cli(settings: Settings, catcher: smtp_catcher.SmtpCatcher,
                                               tmp_path: Path) -> None:
    initialise(settings)
    data = demo_config_data()
    data["database"] = {"url": settings.database_url(), "url_env": None}
    data["notifications"] = {**data["notifications"], "enabled": True,
                             "smtp": {"host": catcher.host, "port": catcher.port, "starttls": False,
                                      "from": "cspbill@wolkwerk.example"}}
    config = tmp_path / "cli.yaml"
    config.write_text(yaml.safe_dump(data))
    on = notifying(settings, catcher.port, ["anna@wolkwerk.example"])
    build_batch(on, "nl-bv", "2026-05", actor(on, "finn"), FixedClock(dt.datetime(2026, 6, 2, 7, tzinfo=dt.UTC)))
    env = {"CSPBILL_CONFIG": str(config), **people_env(config)}
    done = run_cli(["notify", "run", "--json"], env=env)
    assert done.returncode == 0, done.stderr
    [outcome] = json.loads(done.stdout)
    assert (outcome["tenant"], outcome["kind"], outcome["action"]) == ("nl-bv", "batch_ready", "sent")
    assert "notify: 1 sent, 0 queued" in done.stderr
    again = run_cli(["notify", "run"], env=env)
    assert again.returncode == 0 and len(mails(catcher)) == 1
    status = run_cli(["notify", "status", "--as", "greta", "--json"], env=env)
    assert status.returncode == 0 and json.loads(status.stdout) == []  # another legal entity's notifications
    [mail] = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in catcher.messages()]
    assert mail["From"] == "cspbill@wolkwerk.example"
