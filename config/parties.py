"""The seller's master data per legal entity: what an e-invoice must say about who issues it and how to pay.

Why in config: a legal entity's name, address, registration and bank account change rarely and are set up by the
person who installs cspbill, like its VAT rates and number ranges. Peppol BIS 3 and the Dutch and German national
rules refuse an invoice without them (NL-R-002/004/007, DE-R-001..009), so a batch is not approved while a field a
customer's channel needs is missing (the checks name the field).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from config.base import Strict


class PostalAddress(Strict):
    """BG-5: street, city, postal code; the country is the legal entity's own."""

    street: str | None = None
    city: str | None = None
    postal_code: str | None = None


class Registration(Strict):
    """BT-30 and its ISO 6523 scheme (BT-30-1), e.g. the Dutch KvK number with scheme 0106."""

    id: str
    scheme: Annotated[str, Field(pattern=r"^[0-9]{4}$")] | None = None


class Contact(Strict):
    """BG-6: who a customer asks about the invoice (DE-R-002 wants name, phone and e-mail)."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None


class PeppolId(Strict):
    """A Peppol participant: EAS scheme (e.g. 0106, 9930, 9944) and identifier."""

    scheme: Annotated[str, Field(pattern=r"^[0-9]{4}$")]
    id: str


class SellerDetails(Strict):
    """Everything about the issuing legal entity beyond its code, name, country, currency and VAT id."""

    legal_name: str | None = None  # BT-27 when it differs from the tenant's display name
    address: PostalAddress = PostalAddress()
    registration: Registration | None = None
    iban: Annotated[str, Field(pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{8,30}$")] | None = None
    bic: Annotated[str, Field(pattern=r"^[A-Z0-9]{8}([A-Z0-9]{3})?$")] | None = None
    contact: Contact = Contact()
    peppol: PeppolId | None = None
    payment_terms_days: Annotated[int, Field(ge=0, le=365)] = 14  # a customer's own terms override it
