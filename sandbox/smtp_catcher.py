"""An SMTP server that catches mail (aiosmtpd) for the demo and the tests, writing every accepted message to a
directory as ``<n>.eml`` where tests read it back.

Its documented behaviour, as a recipient's mail system would answer (RFC 5321 §4.2, enhanced codes RFC 3463):
- RCPT TO a local part starting ``bounce`` is refused with ``550 5.1.1 mailbox unavailable`` (a bounce);
- RCPT TO a local part starting ``busy`` is refused with ``451 4.3.0 try again later`` (temporary);
- a message to a local part starting ``vanish`` is stored, and then the connection is closed without the final
  reply (a server that took the message but whose answer was lost);
- everything else is accepted, with ``250 2.0.0 queued as <n>``.
There is no de-duplication: a message sent twice is caught twice, as a real mailbox would receive it twice.
STARTTLS is not offered (the demo's config sets ``starttls: false`` for it).
"""

from __future__ import annotations

import itertools
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class _Catcher:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        start = max((int(p.stem) for p in directory.glob("*.eml") if p.stem.isdigit()), default=0) + 1
        self._numbers = itertools.count(start)
        self._lock = threading.Lock()

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        local = address.split("@", 1)[0].lower()
        if local.startswith("bounce"):
            return "550 5.1.1 mailbox unavailable"
        if local.startswith("busy"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            number = next(self._numbers)
        content = envelope.original_content or b""
        (self.directory / f"{number}.eml").write_bytes(content)
        if any(address.lower().startswith("vanish") for address in envelope.rcpt_tos):
            server.transport.close()
        return f"250 2.0.0 queued as {number}"


@dataclass
class SmtpCatcher:
    """A running catcher: where it listens and where it writes."""

    host: str
    port: int
    directory: Path
    controller: Any

    def stop(self) -> None:
        self.controller.stop()

    def messages(self) -> list[Path]:
        return sorted(self.directory.glob("*.eml"), key=lambda p: int(p.stem))


def start(directory: Path, port: int = 0, host: str = "127.0.0.1") -> SmtpCatcher:
    """Start catching on ``host:port`` (a free port when 0) into ``directory``."""
    controller = Controller(_Catcher(Path(directory)), hostname=host, port=port or _free_port(host))
    controller.start()
    return SmtpCatcher(host, controller.port, Path(directory), controller)


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
