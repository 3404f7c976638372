"""A free TCP port on the loopback interface, for servers a test starts (sandboxes, the web desk, PostgreSQL)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on now (the system picks it; a test binds it soon after)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
