"""What both Business Central sandboxes (SOAP page service, API v2.0) share: the company's master data.

Why one place: the two stand-ins play the same BC company, so they know the same customers, the same VAT posting
setup and accept Entra tokens for the same audience.
"""

from __future__ import annotations

import random
from decimal import Decimal

AUDIENCE = "https://api.businesscentral.dynamics.com"  # Entra tokens for BC online (SOAP and API)
VAT_POSTING_SETUP: dict[str, Decimal] = {
    "STANDARD": Decimal("21"), "REDUCED": Decimal("9"), "ZERO": Decimal("0"), "REVCHG": Decimal("0"),
    "EXPORT": Decimal("0"), "DE19": Decimal("19"), "DE7": Decimal("7"),
}


# The revenue G/L accounts of the company's chart (both sandboxes refuse a line on any other no.)
GL_ACCOUNTS = frozenset(str(code) for code in range(8000, 8100))
# VAT Bus. Posting Groups: the customer's VAT situation (domestic, EU reverse charge, outside the EU); a sales header
# takes its customer's unless it is changed (Sales Header "VAT Bus. Posting Group")
VAT_BUSINESS_POSTING_GROUPS = ("DOMESTIC", "EU", "EXPORT")
DEFAULT_VAT_BUSINESS_POSTING_GROUP = "DOMESTIC"


def customers(seed: int) -> dict[str, str]:
    """The customer master: ``C00001``..``C00050`` with names drawn from ``seed``, plus the debtor ranges the
    distributor scenarios store as each company's external id (``DEB-10001``.., ``DEB-20001``..), as a reseller's
    ERP would hold them."""
    rng = random.Random(seed)
    words = ("Nord", "Delta", "Vega", "Orbit", "Kanaal", "Polder", "Lumen", "Atlas", "Brug", "Haven")
    master = {f"C{n:05d}": f"{rng.choice(words)} {rng.choice(words)} B.V." for n in range(1, 51)}
    for first in (10001, 20001):
        master |= {f"DEB-{n}": f"{rng.choice(words)} {rng.choice(words)} GmbH" for n in range(first, first + 50)}
    return master
