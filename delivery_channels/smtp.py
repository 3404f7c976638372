"""E-mail delivery through SMTP (RFC 5321), one message per invoice, with a Message-ID derived from the invoice.

Why the SMTP conversation step by step (MAIL, RCPT, DATA) rather than ``send_message``: the outcome depends on where
it stops. Anything refused or broken before DATA was sent delivered nothing (a 5xx to RCPT is a bounce, a 4xx or a
dropped connection is retried); once the message body went out, a missing final reply may still mean the server
took it, so that is ``DeliveryOutcomeUnknown`` and the outbox never sends it again on its own. The Message-ID is the
same on every attempt, so a recipient's mail system (and a person re-sending) can recognise a repeat.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate

from delivery_channels.base import Attachment, DeliveryDeferred, DeliveryOutcomeUnknown, DeliveryRefused


@dataclass(frozen=True)
class MailServer:
    host: str
    port: int
    starttls: bool
    username: str | None
    password: str | None
    timeout: float
    ca_bundle: str | None = None


@dataclass(frozen=True)
class Mail:
    sender: str
    recipient: str
    subject: str
    body: str
    message_id: str  # "<...@...>"
    attachments: tuple[Attachment, ...]


def compose(mail: Mail) -> EmailMessage:
    """The MIME message: a text part and every attachment with its media type."""
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = mail.message_id
    message.set_content(mail.body)
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.media_type.partition("/")
        message.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return message


def send(server: MailServer, mail: Mail) -> str:
    """Deliver ``mail``; returns the server's final reply (the evidence). Raises ``DeliveryRefused`` (``bounced``
    for a refused recipient), ``DeliveryDeferred`` or ``DeliveryOutcomeUnknown`` as the module docstring says."""
    payload = compose(mail).as_bytes(policy=policy.SMTP)  # CRLF line ends, as RFC 5321 §2.3.8 requires
    try:
        connection = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryDeferred(f"SMTP {server.host}:{server.port}: cannot connect: {exc}") from exc
    try:
        _open(connection, server)
        _expect(connection.mail(mail.sender), "MAIL FROM", bounce=False)
        _expect(connection.rcpt(mail.recipient), f"RCPT TO <{mail.recipient}>", bounce=True)
        try:
            code, reply = connection.data(payload)
        except smtplib.SMTPDataError as exc:  # the DATA command itself refused: the body never went out
            raise _failure(exc.smtp_code, exc.smtp_error, "DATA", bounce=False) from exc
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            raise DeliveryOutcomeUnknown(f"SMTP {server.host}: no reply after the message was sent: {exc}") from exc
        _expect((code, reply), "DATA", bounce=False)
        return f"{code} {_text(reply)}"
    except (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPHeloError, smtplib.SMTPNotSupportedError) as exc:
        raise DeliveryDeferred(f"SMTP {server.host}: {exc}") from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryRefused(f"SMTP {server.host}: sign-in refused: {exc.smtp_code} {_text(exc.smtp_error)}") from exc
    except smtplib.SMTPResponseException as exc:  # STARTTLS refused, and the like: nothing was sent
        raise _failure(exc.smtp_code, exc.smtp_error, f"SMTP {server.host}", bounce=False) from exc
    finally:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()


def _open(connection: smtplib.SMTP, server: MailServer) -> None:
    connection.ehlo()
    if server.starttls:
        context = ssl.create_default_context(cafile=server.ca_bundle)
        connection.starttls(context=context)
        connection.ehlo()
    if server.username:
        connection.login(server.username, server.password or "")


def _expect(answer: tuple[int, bytes | str], step: str, *, bounce: bool) -> None:
    code, reply = answer
    if not 200 <= code < 400:
        raise _failure(code, reply, step, bounce=bounce)


def _failure(code: int, reply: bytes | str, step: str, *, bounce: bool) -> DeliveryRefused | DeliveryDeferred:
    """A 5xx is permanent (RFC 5321 §4.2.1), a bounce when it refused the recipient; anything else is retried."""
    text = f"{step}: {code} {_text(reply)}"
    if 500 <= code < 600:
        return DeliveryRefused(text, bounced=bounce)
    return DeliveryDeferred(text)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
