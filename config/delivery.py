"""The ``delivery:`` section of a legal entity: how its invoices reach customers (e-mail through SMTP, Peppol through
an access point's REST API) and in which format e-mail carries them.

Why per legal entity: each sends from its own address and is its own sender on Peppol (the access point's legal
entity id). Secrets are names of environment variables, as everywhere in config.yaml.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from config.base import EnvName, HttpUrl, Strict


class SmtpConfig(Strict):
    """The outgoing mail server (RFC 5321). ``starttls`` upgrades the connection before signing in; without
    ``username_env`` nothing signs in (a relay that trusts the host)."""

    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    starttls: bool = True
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    sender: Annotated[str, Field(alias="from", pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    timeout_seconds: Annotated[float, Field(gt=0)] = 60.0
    ca_bundle: str | None = None


class PeppolConfig(Strict):
    """A Peppol access point with Storecove's REST API: ``base_url`` up to ``/api/v2``, the API key (sent as a
    Bearer token) from ``api_key_env``, and the sending legal entity's id at the access point."""

    base_url: HttpUrl
    api_key_env: EnvName
    legal_entity_id: Annotated[int, Field(ge=1)]
    ca_bundle: str | None = None
    timeout_seconds: Annotated[float, Field(gt=0)] = 60.0

    @field_validator("base_url")
    @classmethod
    def _without_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


class DeliveryConfig(Strict):
    """``email_format``: ``ubl`` = the visible PDF plus the UBL XML; ``facturx`` = one Factur-X PDF (the XML
    embedded), as German recipients expect. ``after_export``: with an ERP, deliver only what reached it."""

    email_format: Literal["ubl", "facturx"] = "ubl"
    smtp: SmtpConfig | None = None
    peppol: PeppolConfig | None = None
    after_export: bool = True
    enabled: bool = True
