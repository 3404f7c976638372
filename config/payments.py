"""The ``payments`` section of config.yaml: which bank accounts belong to which legal entity, and how sure the
matcher must be before it applies a payment without a person.

Why apart from the tenants: a statement names only its account, so the account list is what decides the legal
entity of every entry; an account listed nowhere is refused on import instead of guessed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, field_validator
from stdnum import iban as iban_number

from config.base import Code, Strict


class PaymentAccount(Strict):
    tenant: Code
    iban: str

    @field_validator("iban")
    @classmethod
    def _valid_iban(cls, value: str) -> str:
        if not iban_number.is_valid(value):
            raise ValueError(f"not a valid IBAN: {value!r}")
        return iban_number.compact(value)


class DunningLevel(Strict):
    days: Annotated[int, Field(ge=1, le=365)]  # days past the due date from which the level is reached
    text: str  # placeholders: {customer} {invoice} {issue_date} {due_date} {days} {open} {currency}


class Dunning(Strict):
    """The reminder ladder of one legal entity, in order of days."""

    tenant: Code
    levels: list[DunningLevel] = Field(min_length=1)

    @field_validator("levels")
    @classmethod
    def _increasing(cls, levels: list[DunningLevel]) -> list[DunningLevel]:
        days = [level.days for level in levels]
        if days != sorted(set(days)):
            raise ValueError(f"days must increase from level to level, not {days}")
        return levels


class PaymentErp(Strict):
    """How one legal entity's applied payments reach its ERP (``cspbill payments export``).

    ``journal``: each application in force becomes a customer payment in the ERP (BC: a line of the customer payment
    journal ``journal``, default ``GENERAL``; Exact Online: a cash entry in the cash journal ``journal``, default
    ``20``), applied to the invoice. ``marked_paid``: the ERP matches its own bank lines; cspbill sends nothing and
    only marks the invoices paid in its ledger."""

    tenant: Code
    mode: Literal["journal", "marked_paid"] = "journal"
    journal: str | None = None


class Reminders(Strict):
    """Reminders (dunning letters) sent by e-mail through the legal entity's ``delivery.smtp`` server
    (``cspbill payments remind``, the scheduler's ``reminders`` job): one per invoice and level, never twice."""

    enabled: bool = False
    paused_customers: list[str] = Field(default_factory=list)  # customer references (or names) never reminded


class Payments(Strict):
    """Bank accounts per legal entity, the score from which a match is applied automatically (0-100), the shortfall
    accepted as bank charges, the name similarity (rapidfuzz ratio) from which a payer counts as a customer, and
    the dunning ladder per legal entity, how applied payments reach each ERP and whether reminders are sent."""

    accounts: list[PaymentAccount] = Field(default_factory=list)
    auto_apply_score: Annotated[int, Field(ge=1, le=100)] = 85
    charges_tolerance: Annotated[Decimal, Field(ge=0)] = Decimal("5.00")
    name_threshold: Annotated[int, Field(ge=50, le=100)] = 85
    dunning: list[Dunning] = Field(default_factory=list)
    erp: list[PaymentErp] = Field(default_factory=list)
    reminders: Reminders = Reminders()

    def erp_of(self, tenant: str) -> PaymentErp | None:
        return next((e for e in self.erp if e.tenant == tenant), None)

    def tenant_of(self, iban: str) -> str | None:
        compact = iban_number.compact(iban)
        return next((a.tenant for a in self.accounts if a.iban == compact), None)
