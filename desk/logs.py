"""How the CLI, the scheduler and the desk log: plain lines for people, JSON lines for a log collector.

Why JSON on request: under systemd or in a container the journal or the collector (Loki, Elastic, CloudWatch) wants
one object per line with the level, logger and every ``extra`` field (tenant, source, batch) as its own key, while a
person at a terminal reads plain lines. python-json-logger does the formatting.
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from services.access import SECURITY_LOG

PLAIN = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure_logging(verbose: bool, json_lines: bool) -> None:
    """Root logging to stderr at INFO (``verbose``) or WARNING, as plain text or one JSON object per line."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                           rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter(PLAIN))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])
    if not verbose:  # a refusal is already the one line on stderr; the server log keeps these at WARNING
        logging.getLogger(SECURITY_LOG).setLevel(logging.ERROR)
