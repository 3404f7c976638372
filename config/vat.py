"""VAT settings beyond the rates: the EU VIES confirmation of customers' VAT ids, and what is charged outside the EU.

Why configurable: VIES is an outside service a reseller may not want called (off by default); when on, the nightly
sync re-confirms VAT ids whose last answer is older than ``recheck_days``. Supplies of services to buyers outside
the EU are not subject to the seller's VAT by default (category O); a legal entity that must charge its standard
rate there says ``vat_outside_eu: standard``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from config.base import HttpUrl, Strict

OutsideEu = Literal["not_subject", "standard"]


class ViesConfig(Strict):
    """The EU VIES checkVatService, read through its WSDL at ``wsdl_url`` (the EU's, or the sandbox's)."""

    enabled: bool = False
    wsdl_url: HttpUrl = "https://ec.europa.eu/taxation_customs/vies/checkVatService.wsdl"
    ca_bundle: str | None = None
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 20.0
    recheck_days: Annotated[int, Field(ge=1, le=3650)] = 30
    max_per_night: Annotated[int, Field(ge=1)] = 200  # VIES refuses bursts (MS_MAX_CONCURRENT_REQ)
