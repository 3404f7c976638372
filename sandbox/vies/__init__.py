"""EU VIES stand-in: the ``checkVatService`` SOAP web service that confirms a VAT number with its member state.

Served at the root (``PREFIX = ""``) so the paths are those of ``https://ec.europa.eu``: ``GET
/taxation_customs/vies/checkVatService.wsdl`` (the WSDL, its port address pointing back at this sandbox) and ``POST
/taxation_customs/vies/services/checkVatService`` (SOAP 1.1, document/literal, operation ``checkVat`` with
``countryCode`` and ``vatNumber``; the answer ``checkVatResponse`` echoes both with ``requestDate``, ``valid``,
``name`` and ``address``). A number is registered when its national checksum passes (python-stdnum) and it was not
deregistered through ``POST /__admin/deregistered`` ``{"vat": "NL004495445B01"}``; an unregistered one answers
``valid false`` with name and address ``---`` as VIES does. Bad input (an unknown country code, e.g. ``GR`` instead of
``EL``, or an empty number) is the SOAP fault ``INVALID_INPUT``. No credentials: the service is public.

Fault knobs: the core ``status`` / ``delay`` / ``drop``, and ``vies_fault`` whose ``body`` is the fault string the
member state or the hub answers with (``MS_UNAVAILABLE``, ``SERVICE_UNAVAILABLE``, ``MS_MAX_CONCURRENT_REQ``,
``TIMEOUT``, ...).
"""

from sandbox.vies.service import CREDENTIALS, PREFIX, SERVICE_PATH, WSDL_PATH, build

__all__ = ["CREDENTIALS", "PREFIX", "SERVICE_PATH", "WSDL_PATH", "build"]
