"""A deterministic Microsoft CSP world shared by the Partner Center and Azure Resource Manager sandboxes.

Why one generator: the Partner Center customers, their NCE subscriptions and the Azure plan usage must describe the
same customers (same tenant ids), and a seed must reproduce them exactly so tests and the demo agree. Everything
is anchored on the month the sandbox clock shows when the scenario is built; what a sandbox *serves* depends on the
clock at request time (seat changes, seat batches and their 168-hour windows, recon lines, usage days all appear as
the clock moves through the month).

Rules followed (reference/microsoft.md §3): terms P1M/P1Y/P3Y with their allowed billing cycles, cycles anchored on
the term start with month-end clipping, 168-hour seat batches, EUP = price × billing_days / charge_cycle_days, and
``trunc2(EUP) × qty`` subtotals (the ``seat_formula`` family).
"""

from sandbox.scenario_microsoft.subscriptions import PLANS, Subscription, add_months
from sandbox.scenario_microsoft.world import Customer, MicrosoftScenario, scenario

__all__ = ["PLANS", "Customer", "MicrosoftScenario", "Subscription", "add_months", "scenario"]
