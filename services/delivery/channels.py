"""From a delivery row to a channel call: who receives it, under which reference, through which configured server.

Why references derived from the invoice: the e-mail's Message-ID and the access point's idempotency GUID are the
same on every attempt, so a retry can be recognised (by the access point, which then answers the first submission;
by the recipient's mail system and by a person comparing messages).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from config.delivery import DeliveryConfig, SmtpConfig
from config.schema import MissingSecret, secret
from config.schema import Tenant as TenantConfig
from delivery_channels import peppol, smtp
from delivery_channels.base import Attachment, DeliveryRefused
from ledger.models import Customer
from services.errors import ValidationFailed
from services.export.documents import erp_reference

CHANNELS = ("email", "peppol")
REFERENCE_NAMESPACE = uuid.UUID("6f1c1f4e-8f0b-5a52-9a57-0c5b1e7d2f10")  # cspbill's delivery references


@dataclass(frozen=True)
class PeppolResult:
    guid: str
    evidence: peppol.Evidence | None  # None while the access point is still transmitting


def message_ref(config: TenantConfig, invoice_number: str, channel: str) -> str:
    """E-mail: ``<CSP-TENANT-NUMBER@sender-domain>`` (RFC 5322 Message-ID); Peppol: a UUID v5 of the invoice."""
    key = erp_reference(config.code, invoice_number)
    if channel == "email":
        sender = config.delivery.smtp.sender if config.delivery and config.delivery.smtp else "cspbill.invalid"
        return f"<{key}@{sender.rsplit('@', 1)[-1]}>"
    return str(uuid.uuid5(REFERENCE_NAMESPACE, key))


def recipient(customer: Customer) -> str:
    """Where ``customer``'s invoices go on its channel; ``ValidationFailed`` names the missing field."""
    label = f"customer {customer.id} ({customer.name})"
    if customer.delivery_channel == "email":
        if not customer.email:
            raise ValidationFailed(f"{label}: email is empty (delivery channel email)")
        return customer.email
    if not customer.peppol_scheme or not customer.peppol_id:
        field = "peppol_scheme" if not customer.peppol_scheme else "peppol_id"
        raise ValidationFailed(f"{label}: {field} is empty (delivery channel peppol)")
    return f"{customer.peppol_scheme}:{customer.peppol_id}"


def send_email(config: TenantConfig, to: str, reference: str, invoice_number: str, credit_note: bool,
               attachments: tuple[Attachment, ...]) -> str:
    """One e-mail with the invoice's files; returns the server's final reply."""
    server, sender = mail_server(config)
    what = "Credit note" if credit_note else "Invoice"
    seller = config.seller.legal_name or config.name
    mail = smtp.Mail(sender, to, f"{what} {invoice_number} from {seller}",
                     f"Please find attached {what.lower()} {invoice_number} from {seller}.\n",
                     reference, attachments)
    return smtp.send(server, mail)


def mail_server(config: TenantConfig) -> tuple[smtp.MailServer, str]:
    """The tenant's SMTP server (``delivery.smtp``) and sender address; invoices and reminders go out through it."""
    settings = _section(config)
    if settings.smtp is None:
        raise DeliveryRefused(f"tenant {config.code!r}: delivery.smtp is not configured (e-mail delivery)")
    server = settings.smtp
    return smtp_server(server), server.sender


def smtp_server(server: SmtpConfig) -> smtp.MailServer:
    """The configured SMTP server with its credentials read from the environment (a missing one refuses)."""
    return smtp.MailServer(server.host, server.port, server.starttls, _secret(server.username_env),
                           _secret(server.password_env), server.timeout_seconds, server.ca_bundle)


def send_peppol(config: TenantConfig, to: str, reference: str, ubl: bytes) -> PeppolResult:
    """Submit (or, after a crash, find again through the same idempotency GUID) and ask for the evidence."""
    settings = _section(config)
    if settings.peppol is None:
        raise DeliveryRefused(f"tenant {config.code!r}: delivery.peppol is not configured (Peppol delivery)")
    ap = _access_point(settings)
    scheme, _, identifier = to.partition(":")
    guid = peppol.submit(ap, idempotency_guid=reference, scheme=scheme, identifier=identifier, ubl=ubl)
    return PeppolResult(guid, peppol.evidence(ap, guid))


def peppol_evidence(config: TenantConfig, guid: str) -> peppol.Evidence | None:
    return peppol.evidence(_access_point(_section(config)), guid)


def _access_point(settings: DeliveryConfig) -> peppol.AccessPoint:
    assert settings.peppol is not None
    key = _secret(settings.peppol.api_key_env)
    return peppol.AccessPoint(settings.peppol.base_url, key or "", settings.peppol.legal_entity_id,
                              settings.peppol.timeout_seconds, settings.peppol.ca_bundle)


def _section(config: TenantConfig) -> DeliveryConfig:
    if config.delivery is None:
        raise DeliveryRefused(f"tenant {config.code!r}: has no delivery section in config.yaml")
    return config.delivery


def _secret(env: str | None) -> str | None:
    try:
        return secret(env)
    except MissingSecret as exc:
        raise DeliveryRefused(str(exc)) from exc
