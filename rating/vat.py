"""Which VAT a line carries: the seller's standard rate, reverse charge, or not subject, from who sells to whom.

Why a rule of its own: the German entity charged 19 % to business customers in France, Austria, Belgium and the
Netherlands, who must self-account the VAT (reverse charge, EN 16931 category AE with exemption reason
VATEX-EU-AE). The decision needs the buyer's country, whether it is a business and whether its VAT id is valid; a
VAT id that fails its national checksum (python-stdnum) or that the EU VIES service answered ``invalid`` for does not
qualify. ``unavailable`` from VIES is no answer and blocks nothing. Consumers in other member states pay the seller's
standard rate here: the One-Stop-Shop rates of the buyer's country are left out on purpose. Outside the EU a supply
of services is not subject to the seller's VAT (category O) unless the legal entity configures ``standard``.

Pure: no I/O; python-stdnum is a pure checksum library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

from rating.invoicing import EU_MEMBER_STATES, REVERSE_CHARGE_REASON, VatCategory, VatTreatment

NOT_SUBJECT_REASON = "Not subject to VAT"
EXEMPTION_CODES = {  # CEF VATEX code per category (BT-121), for documents that carry the code beside the text
    VatCategory.REVERSE_CHARGE.value: "VATEX-EU-AE",
    VatCategory.OUTSIDE_SCOPE.value: "VATEX-EU-O",
}
VIES_INVALID = "invalid"


class OutsideEu(StrEnum):
    """What a legal entity charges a buyer outside the EU: nothing (O) by default, or its standard rate."""

    NOT_SUBJECT = "not_subject"
    STANDARD = "standard"


@dataclass(frozen=True, slots=True)
class Buyer:
    """What the rule needs to know about a customer; ``country`` None means the seller's own."""

    country: str | None
    is_business: bool
    vat_id: str | None
    vies_result: str | None = None  # valid | invalid | unavailable | None (never checked)


def vat_prefix(country: str) -> str:
    """The VAT id prefix of an EU member state (Greece writes EL)."""
    return "EL" if country.upper() == "GR" else country.upper()


def vat_id_problem(country: str | None, vat_id: str) -> str | None:
    """Why ``vat_id`` is not a VAT id of ``country`` (a plain sentence), or None when its checksum passes.

    EU ids must start with the country's prefix; other countries are checked with python-stdnum's national module
    where it has one and accepted as entered where it has none."""
    if not country:
        return "the customer has no country to check the VAT id against"
    country = country.upper()
    if country in EU_MEMBER_STATES:
        number = re.sub(r"[\s.\-/]", "", vat_id).upper()
        if not number.startswith(vat_prefix(country)):
            return f"{vat_id!r} does not start with {vat_prefix(country)}, the prefix of {country}"
        try:
            eu_vat.validate(number)
        except ValidationError as exc:
            return f"{vat_id!r} is not a valid VAT id of {country} ({exc.message})"
        return None
    module = get_cc_module(country.lower(), "vat")
    if module is None:
        return None
    try:
        module.validate(vat_id)
    except ValidationError as exc:
        return f"{vat_id!r} is not a valid VAT id of {country} ({exc.message})"
    return None


def has_valid_vat_id(buyer: Buyer) -> bool:
    """A VAT id is present, passes its checksum for the buyer's country, and VIES did not call it invalid."""
    if not buyer.vat_id or buyer.vies_result == VIES_INVALID:
        return False
    return vat_id_problem(buyer.country, buyer.vat_id) is None


def determine_vat(seller_country: str, buyer: Buyer, standard_rate: Decimal,
                  outside_eu: OutsideEu = OutsideEu.NOT_SUBJECT) -> VatTreatment:
    """The VAT treatment of every line a legal entity in ``seller_country`` bills to ``buyer``."""
    seller = seller_country.upper()
    country = (buyer.country or seller).upper()
    if country == seller:
        return VatTreatment(VatCategory.STANDARD, standard_rate)
    if country not in EU_MEMBER_STATES:
        if outside_eu is OutsideEu.STANDARD:
            return VatTreatment(VatCategory.STANDARD, standard_rate)
        return VatTreatment(VatCategory.OUTSIDE_SCOPE, Decimal(0), NOT_SUBJECT_REASON)
    if seller in EU_MEMBER_STATES and buyer.is_business and has_valid_vat_id(buyer):
        return VatTreatment(VatCategory.REVERSE_CHARGE, Decimal(0), REVERSE_CHARGE_REASON)
    return VatTreatment(VatCategory.STANDARD, standard_rate)
