"""pg8000's private API, fenced: the one module of activerecord that reaches inside pg8000.

pg8000's DB-API cursor rescans every statement character by character to turn its paramstyle
into `$n`, and spends three round trips per statement. Our placeholders are translated to `$n`
once per SQL text (paramstyle 'dollar'), so `OneTripCursor` hands the SQL to the protocol as
it is, in one round trip: Parse, Bind, Describe, Execute and Sync in a single write (a
statement without parameters: one simple Query message). pg8000 has no public API for that,
nor for the socket and the transaction status the adapter reads, hence the private names here.

Each private name is checked against the installed pg8000 by
tests/backends/test_driver_fences.py, which names the one that changed.
"""
from __future__ import annotations

import datetime
import decimal
import socket
from typing import Any, Callable, Sequence

from ...base import require_driver
from ...types import type_of

# Through require_driver, so that importing the backend without pg8000 names the pip extra.
# pg8000 has no stubs: its modules are explicit Any.
dbapi: Any
core: Any
converters: Any
dbapi, core, converters = (require_driver(module, 'pgsql', 'PostgreSQLBackend')
                           for module in ('pg8000.dbapi', 'pg8000.core', 'pg8000.converters'))
make_params = converters.make_params   # undocumented: pg8000's own parameter encoder

#: the pg8000 releases this module was written and checked for (pyproject.toml pins the same);
#: 1.31.3 is the first with the startup_params the adapter's connect sends
WRITTEN_FOR = '>=1.31.3,<1.32'

#: Python type -> the type OID its parameters are declared with. Other values (str, None, bytes,
#: UUID, lists, JSON text) go untyped and take the type the statement gives them, as literals do.
_PARAMETER_OIDS: dict[type, int] = {
    bool: 16, float: 701, decimal.Decimal: 1700, datetime.date: 1082, datetime.timedelta: 1186,
}
_INT4, _INT8, _NUMERIC, _TIMESTAMP, _TIMESTAMPTZ = 23, 20, 1700, 1114, 1184
#: the CopyFail message type (pg8000 never sends one, so it names none)
_COPY_FAIL = b'f'
#: ReadyForQuery statuses of a session inside a transaction (a healthy one, a failed one)
_OPEN_STATUSES = frozenset({core.IN_TRANSACTION, core.IN_FAILED_TRANSACTION})


def parameter_text(value: Any) -> Any:
    """The text pg8000 sends for a parameter value (its default encoders; None for NULL)."""
    return converters.make_param(converters.PY_TYPES, value)


def parameter_types(values: Sequence[Any]) -> tuple[int, ...]:
    """Type OIDs for the Parse message, so that `SELECT ?` and `depth + ?` know an int is one."""
    oids: list[int] = []
    typed = False
    for value in values:
        kind = type_of(value)
        if kind is int:
            # The smallest type that holds it: an int4 widens to int8 or numeric where needed,
            # and functions taking integer (repeat, substr, ...) accept it.
            oid = _INT4 if -2**31 <= value < 2**31 else _INT8 if -2**63 <= value < 2**63 else _NUMERIC
        elif kind is datetime.datetime:
            oid = _TIMESTAMP if value.tzinfo is None else _TIMESTAMPTZ
        else:
            oid = _PARAMETER_OIDS.get(kind, 0)
        typed = typed or oid != 0
        oids.append(oid)
    return tuple(oids) if typed else ()


class OneTripCursor(dbapi.Cursor):  # type: ignore[misc]  # pg8000's cursor (no stubs)
    """A pg8000 cursor that sends `$n` SQL as it is, in one round trip."""

    #: what a COPY ... FROM STDIN run through execute() reads (set by the caller, see copy_in)
    copy_source: Any = None

    def execute(self, operation: str, args: Sequence[Any] = (), stream: Any = None) -> None:
        """Parse, bind, describe and execute `operation` with `args` bound to $1, $2, ..."""
        if stream is None:
            stream = self.copy_source
        # _c, _context and _row_iter are the fields pg8000's own execute() fills and its
        # fetch methods read; the checks below are the ones its execute() makes.
        connection = self._c
        if connection is None:
            raise dbapi.InterfaceError('Cursor closed')
        if connection._sock is None:
            raise dbapi.InterfaceError('connection is closed')
        guard = connection.statement_guard
        if guard is not None:
            guard(operation)   # raises before anything is sent: the connection stays usable
        if not args and stream is None:
            # Nothing to bind: one Query message, as pg8000's own cursor sends it. The server
            # skips the bind/describe steps (about a fifth of the client+server CPU of a
            # `SELECT 1`, see docs/performance.md).
            context = connection.execute_simple(operation)
        else:
            # Parameters are encoded before anything is sent: a value that fails to encode must
            # not leave half a message exchange on the wire.
            params = make_params(connection.py_types, args)   # py_types: the connection's encoders
            context = core.Context(operation, stream=stream)
            # pg8000's execute_unnamed() syncs and waits after Parse and again after Describe;
            # writing all five messages with one Sync is what saves the two round trips.
            connection.send_PARSE(core.NULL_BYTE, operation, parameter_types(args))
            connection.send_BIND(core.NULL_BYTE, params)
            # pg8000 only describes statements; the portal's Describe goes through _send_message.
            connection._send_message(core.DESCRIBE, core.PORTAL + core.NULL_BYTE)
            connection.send_EXECUTE()
            # _sock is the buffered socket file; _write/_flush turn its OSError into InterfaceError.
            core._write(connection._sock, core.SYNC_MSG)
            core._flush(connection._sock)
            try:
                connection.handle_messages(context)
            except dbapi.DatabaseError:
                # the server's "COPY from stdin failed" stands for the error that made us stop
                failure = getattr(context, 'copy_failure', None)
                if failure is not None:
                    raise failure from None
                raise
        self._context = context
        # pg8000 builds each row as a list; DB-API rows (and the other backends') are tuples.
        self._row_iter = None if context.rows is None else map(tuple, context.rows)


class OneTripConnection(dbapi.Connection):  # type: ignore[misc]  # pg8000's connection (no stubs)
    """pg8000's connection, handing out the one-round-trip cursor."""

    #: called with each statement's SQL before it is sent; raises to refuse it (pooler.py)
    statement_guard: Callable[[str], None] | None = None

    def cursor(self) -> OneTripCursor:
        """A cursor that sends SQL as translated by activerecord."""
        return OneTripCursor(self)

    def handle_COPY_IN_RESPONSE(self, data: bytes, context: Any) -> None:
        """Send the COPY's data chunk by chunk; a chunk that cannot be made ends it with CopyFail.

        pg8000's own handler lets such an error escape halfway through the exchange, which
        leaves the connection unusable; here the server is told, the statement fails as a whole
        (nothing is written) and the session stays in step. The error is re-raised by the cursor.
        """
        # handle_COPY_IN_RESPONSE is pg8000's handler, looked up by the message table its
        # __init__ builds from bound methods; _send_message, _sock, _client_encoding are private
        try:
            for chunk in context.stream:
                self._send_message(core.COPY_DATA, chunk if isinstance(chunk, bytes)
                                   else chunk.encode(self._client_encoding))
            core._write(self._sock, core.COPY_DONE_MSG)
        except Exception as error:
            context.copy_failure = error
            reason = f'client error: {type(error).__name__}'.encode() + core.NULL_BYTE
            self._send_message(_COPY_FAIL, reason)
        core._write(self._sock, core.SYNC_MSG)
        core._flush(self._sock)


def transaction_open(raw: Any) -> bool:
    """Whether the server's last ReadyForQuery said a transaction is open: no round trip."""
    # pg8000 keeps that status in _transaction_status and offers no public reader.
    return raw._transaction_status in _OPEN_STATUSES


def transaction_failed(raw: Any) -> bool:
    """Whether the open transaction has failed (only ROLLBACK is accepted now)."""
    failed: bool = raw._transaction_status == core.IN_FAILED_TRANSACTION
    return failed


def is_closed(raw: Any) -> bool:
    """Whether the connection's socket is gone (closed by us or after a network error)."""
    # pg8000's close() sets _usock (and _sock, its buffered file) to None; closing twice raises.
    return raw._usock is None


def tune_socket(raw: Any, read_timeout: float | None) -> None:
    """Set the socket's read timeout (None: wait as long as a statement runs) and TCP_NODELAY."""
    # pg8000 keeps its connect timeout on the socket (_usock, no public accessor), which would
    # cut off any statement running longer than connect_timeout.
    sock = raw._usock
    sock.settimeout(read_timeout)
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        # pg8000 leaves Nagle's algorithm on: the last piece of a statement longer than its
        # 8 KB write buffer then waits for the server's delayed ACK, about 40 ms.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
