"""SMTP delivery (RFC 5321) against the catcher: where the conversation stops decides the outcome, and the message
carries the invoice's Message-ID and its files with CRLF line ends."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest

from delivery_channels import smtp
from delivery_channels.base import Attachment, DeliveryDeferred, DeliveryOutcomeUnknown, DeliveryRefused
from sandbox import smtp_catcher

PDF = Attachment("INV-1.pdf", "application/pdf", b"%PDF-1.4 " + bytes(range(256)) * 40)
XML = Attachment("INV-1.ubl.xml", "application/xml", b"<Invoice>" + b"x" * 5000 + b"</Invoice>")


@pytest.fixture
def catcher(tmp_path: Path) -> Iterator[smtp_catcher.SmtpCatcher]:
    running = smtp_catcher.start(tmp_path / "mail")
    yield running
    running.stop()


def _send(catcher: smtp_catcher.SmtpCatcher, to: str, port: int | None = None) -> str:
    server = smtp.MailServer(catcher.host, port or catcher.port, starttls=False, username=None, password=None,
                             timeout=10)
    return smtp.send(server, smtp.Mail("billing@reseller.example", to, "Invoice INV-1", "Attached.\n",
                                       "<CSP-NL-BV-INV-1@reseller.example>", (PDF, XML)))


def test_accepted_message_keeps_message_id_and_attachments(catcher: smtp_catcher.SmtpCatcher) -> None:
    assert _send(catcher, "ap@customer.example").startswith("250 2.0.0 queued as")
    [path] = catcher.messages()
    raw = path.read_bytes()
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message["Message-ID"] == "<CSP-NL-BV-INV-1@reseller.example>"
    assert [(a.get_filename(), a.get_content()) for a in message.iter_attachments()] == [
        (PDF.filename, PDF.content), (XML.filename, XML.content)]
    assert all(len(line) <= 1000 for line in raw.split(b"\r\n"))


@pytest.mark.parametrize(("recipient", "raised", "bounced"), [
    ("bounce@customer.example", DeliveryRefused, True),  # 550 to RCPT: the address does not exist
    ("busy@customer.example", DeliveryDeferred, None),  # 451: nothing delivered, try later
    ("vanish@customer.example", DeliveryOutcomeUnknown, None),  # the body went out, the reply never came
])
def test_where_the_conversation_stops_decides(catcher: smtp_catcher.SmtpCatcher, recipient: str,
                                              raised: type[Exception], bounced: bool | None) -> None:
    with pytest.raises(raised) as caught:
        _send(catcher, recipient)
    if bounced is not None:
        assert caught.value.bounced is bounced  # type: ignore[attr-defined]


def test_no_server_is_deferred(catcher: smtp_catcher.SmtpCatcher) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(DeliveryDeferred, match="cannot connect"):
        _send(catcher, "ap@customer.example", port=closed)
