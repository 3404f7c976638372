"""The ``payments`` section of config.yaml: which bank accounts belong to which legal entity, and how sure the
matcher must be before it applies a payment without a person.

Why apart from the tenants: a statement names only its account, so the account list is what decides the legal
entity of every entry; an account listed nowhere is refused on import instead of guessed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

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


class Payments(Strict):
    """Bank accounts per legal entity, the score from which a match is applied automatically (0-100), the shortfall
    accepted as bank charges, the name similarity (rapidfuzz ratio) from which a payer counts as a customer, and
    the dunning ladder per legal entity (listed by `cspbill payments overdue`; nothing is sent)."""

    accounts: list[PaymentAccount] = Field(default_factory=list)
    auto_apply_score: Annotated[int, Field(ge=1, le=100)] = 85
    charges_tolerance: Annotated[Decimal, Field(ge=0)] = Decimal("5.00")
    name_threshold: Annotated[int, Field(ge=50, le=100)] = 85
    dunning: list[Dunning] = Field(default_factory=list)

    def tenant_of(self, iban: str) -> str | None:
        compact = iban_number.compact(iban)
        return next((a.tenant for a in self.accounts if a.iban == compact), None)
