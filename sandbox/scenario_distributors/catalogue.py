"""What both distributor worlds draw from: company names, cities and the Microsoft products resold, in EUR (one
offer in USD).

Why one catalogue: the Pax8 and Ingram CMP worlds describe the same kind of reseller book, so they draw their
customers and products from the same pools (each world with its own seeded random stream).
"""

from __future__ import annotations

import random
import uuid

COMPANY_NAMES = (
    "Brouwerij Noord", "Kaaswinkel Oost", "Fietsfabriek Delta", "Tandarts De Linde", "Bakkerij Vos", "Notariaat Hoog",
    "Schreinerei Adler", "Praxis Sonnenhof", "Logistik Rhein", "Atelier Lumière", "Cabinet Moreau", "Studio Riva",
    "Hotel Bellevue", "Garage Peeters", "Apotheek Zuid", "Installatiebedrijf Kok",
)
CITIES = (("Utrecht", "NL"), ("Köln", "DE"), ("Gent", "BE"), ("Lyon", "FR"), ("Graz", "AT"), ("Haarlem", "NL"))

# (name, vendor sku, partner cost, customer price) per month and seat
LICENCE_PRODUCTS = (
    ("Microsoft 365 Business Basic", "CFQ7TTC0LH18:0001", "5.10", "6.20"),
    ("Microsoft 365 Business Standard", "CFQ7TTC0LDPB:0001", "10.55", "12.70"),
    ("Microsoft 365 Business Premium", "CFQ7TTC0LCHC:0002", "18.20", "21.50"),
    ("Microsoft 365 E3", "CFQ7TTC0LFLX:0001", "30.40", "36.20"),
    ("Exchange Online (Plan 1)", "CFQ7TTC0LH16:0001", "3.45", "4.10"),
)
ONE_TIME_PRODUCT = ("Windows 11 Pro Upgrade", "DG7GMGF0D3SJ:0003", "85.00", "99.00")
TRIAL_PRODUCT = ("Power BI Pro (trial)", "CFQ7TTC0L3PB:0001", "0.00", "0.00")
AZURE_PRODUCT = ("Azure plan", "DZH318Z0BPS6:0001", "0.00", "0.00")
USD_PRODUCT = ("Visio Plan 2 (US offer, USD)", "CFQ7TTC0HD33:0001", "15.00", "18.00")  # priced in US dollars


def random_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng`` (the same seed, the same ids)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
