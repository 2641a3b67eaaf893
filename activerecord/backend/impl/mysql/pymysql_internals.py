"""PyMySQL's undocumented internals, fenced: the one module of activerecord that reaches inside.

PyMySQL offers no public way to let go of a connection's last result, nor to read the
transaction flag of the server's status; the functions here do both. Each name is checked
against the installed PyMySQL by tests/backends/test_driver_fences.py, which names the one
that changed.
"""
from __future__ import annotations

from typing import Any

from ...base import require_driver

# Through require_driver, so that importing the backend without PyMySQL names the pip extra.
SERVER_STATUS: Any = require_driver('pymysql.constants.SERVER_STATUS', 'mysql', 'MySQLBackend')

#: the PyMySQL releases this module was written and checked for (pyproject.toml pins the same)
WRITTEN_FOR = '>=1.1,<1.3'

_IN_TRANSACTION = SERVER_STATUS.SERVER_STATUS_IN_TRANS


def transaction_open(raw: Any) -> bool:
    """The server's status flags of its last reply say whether a transaction is open."""
    # Connection.server_status is the undocumented copy PyMySQL keeps of those flags.
    return bool(raw.server_status & _IN_TRANSACTION)


def abandon_unread_result(raw: Any) -> None:
    """Mark an unfinished streamed result as over, before its connection is closed."""
    # The connection keeps its last result in _result; an unbuffered one left active would
    # make its finalizer (and its cursor's) read the rest of the rows from the closed socket
    # and fail noisily in the garbage collector.
    result = getattr(raw, '_result', None)
    if result is not None:
        result.unbuffered_active = False


def release_finished_result(connection: Any) -> None:
    """Drop the connection's reference to a result read to its end, so its rows can be freed."""
    # PyMySQL's connection keeps its last result (_result), every row of it, until its next
    # query: a connection idle in the pool would keep a large result set alive. The cursor
    # holds its own copies of rowcount and lastrowid, so nothing reads it afterwards. A result
    # still streaming (unbuffered_active) or followed by more (has_next) is left alone.
    result = getattr(connection, '_result', None)
    if result is not None and not result.unbuffered_active and not result.has_next:
        connection._result = None
