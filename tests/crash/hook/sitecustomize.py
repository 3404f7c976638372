"""Loaded by a CLI subprocess of the crash suite only (its directory is put first on PYTHONPATH); never part of the
product. With ``CSPBILL_CRASH_AT=N`` the process SIGKILLs itself just before its Nth ledger write statement
(INSERT, UPDATE, DELETE); with ``CSPBILL_CRASH_COUNT=FILE`` it writes how many such statements it ran to FILE at
exit, which is how the suite learns where the kill points of a command are."""

import os

_AT = int(os.environ.get("CSPBILL_CRASH_AT") or 0)
_COUNT_FILE = os.environ.get("CSPBILL_CRASH_COUNT")

if _AT or _COUNT_FILE:
    import atexit
    import signal
    from pathlib import Path

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    _seen = [0]

    def _before_write(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            _seen[0] += 1
            if _seen[0] == _AT:
                os.kill(os.getpid(), signal.SIGKILL)

    event.listen(Engine, "before_cursor_execute", _before_write)
    if _COUNT_FILE:
        atexit.register(lambda: Path(_COUNT_FILE).write_text(str(_seen[0]), encoding="utf-8"))
