"""The demo month against the loopback sandboxes, and starting the sandboxes for people: the only services code
that imports ``sandbox`` (import-linter holds every other services module to that)."""

from rating.months import previous_month
from services.demo.month import DemoRun, DemoSummary, approve_and_export, prepare, replay_month
from services.demo.sandboxes import serve_forever, start
from services.demo.statement import demo_statement, import_demo_payments

__all__ = ["DemoRun", "DemoSummary", "approve_and_export", "demo_statement", "import_demo_payments", "prepare",
           "previous_month", "replay_month", "serve_forever", "start"]
