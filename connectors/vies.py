"""The EU VIES ``checkVatService``: does the member state confirm this VAT number? Read with zeep from its WSDL.

Why zeep and the WSDL: the service is a SOAP 1.1 document/literal web service described by
``checkVatService.wsdl`` (operation ``checkVat`` with ``countryCode`` and ``vatNumber``; answer ``valid``, ``name``,
``address``, ``requestDate``), and the address it is called at comes from that WSDL, so the sandbox and the real
service are used the same way. Errors come as SOAP faults whose fault string is a code: ``INVALID_INPUT`` means the
number is no VAT number (answered as ``invalid``); every other code (``MS_UNAVAILABLE``, ``SERVICE_UNAVAILABLE``,
``MS_MAX_CONCURRENT_REQ``, ``TIMEOUT``, ...) and a network failure mean *no answer*: ``unavailable``, which must not
block anything. The VIES prefix of Greece is EL.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass
from typing import Any

import requests

from connectors.http import HttpPolicy, build_session

SOURCE = "VIES"
DEFAULT_WSDL_URL = "https://ec.europa.eu/taxation_customs/vies/checkVatService.wsdl"
VALID, INVALID, UNAVAILABLE = "valid", "invalid", "unavailable"
INVALID_CODES = frozenset({"INVALID_INPUT"})
_CODE = re.compile(r"[A-Z_]{4,}")


@dataclass(frozen=True, slots=True)
class VatCheck:
    """One answer: ``result`` is valid, invalid or unavailable; ``fault`` the VIES code when it was a fault."""

    country_code: str
    vat_number: str
    result: str
    name: str | None = None
    address: str | None = None
    request_date: dt.date | None = None
    fault: str | None = None


def split_vat_id(vat_id: str) -> tuple[str, str]:
    """``FR 40 303265045`` -> (``FR``, ``40303265045``); Greek ids go by EL at VIES."""
    compact = re.sub(r"[\s.\-/]", "", vat_id).upper()
    country, number = compact[:2], compact[2:]
    return ("EL" if country == "GR" else country), number


class ViesClient:
    """``check(vat_id)`` against the service the WSDL at ``wsdl_url`` describes (loaded once, on first use)."""

    def __init__(self, wsdl_url: str = DEFAULT_WSDL_URL, *, ca_bundle: str | None = None,
                 timeout: float = 20.0) -> None:
        policy = HttpPolicy(read_timeout=timeout, retries=1, verify=ca_bundle or True)
        self.wsdl_url, self.timeout = wsdl_url, timeout
        self._session = build_session(SOURCE, policy)
        self._service: Any = None
        self._lock = threading.Lock()

    def _proxy(self) -> Any:
        """The WSDL's service, built on first use; zeep is imported here, not with the module, so the commands that
        only reach this module through ``services.sync`` do not load it."""
        import zeep
        from zeep.transports import Transport

        with self._lock:
            if self._service is None:
                transport = Transport(session=self._session, timeout=self.timeout, operation_timeout=self.timeout)
                self._service = zeep.Client(self.wsdl_url, transport=transport).service
            return self._service

    def check(self, vat_id: str) -> VatCheck:
        """Ask VIES about ``vat_id`` (with its country prefix); never raises for a VIES or network failure."""
        import zeep.exceptions

        country, number = split_vat_id(vat_id)
        try:
            answer = self._proxy().checkVat(countryCode=country, vatNumber=number)
        except zeep.exceptions.Fault as fault:
            code = _fault_code(fault.message)
            return VatCheck(country, number, INVALID if code in INVALID_CODES else UNAVAILABLE, fault=code)
        except (requests.RequestException, zeep.exceptions.TransportError, zeep.exceptions.XMLSyntaxError) as exc:
            return VatCheck(country, number, UNAVAILABLE, fault=type(exc).__name__)
        valid = bool(answer["valid"])
        return VatCheck(country, number, VALID if valid else INVALID, _text(answer["name"]), _text(answer["address"]),
                        answer["requestDate"] if isinstance(answer["requestDate"], dt.date) else None)


def _fault_code(message: str | None) -> str:
    """The code in a fault string (VIES writes ``MS_UNAVAILABLE``; some gateways ``{ 'MS_UNAVAILABLE' }``)."""
    found = _CODE.search(message or "")
    return found.group(0) if found else (message or "SERVICE_UNAVAILABLE")


def _text(value: Any) -> str | None:
    return None if value in (None, "", "---") else str(value)
