"""The PostgreSQL backend on pg8000 (pure Python): the driver adapter and nothing else.

Statements go through protocol.py's one-round-trip cursor (the only code touching pg8000's
private API); streamed reads are server-side cursors (streaming.py).
"""
from __future__ import annotations

import getpass
import ssl
from typing import Any, ClassVar, Iterable, Sequence

from .... import errors
from ...base import StorageBackend, parse_version, require_driver
from ...options import OptionParser, as_text, choice, flag, seconds, text_or_integer
from ...tls import tls_context
from ...pool import PooledConnection
from . import copy, pooler, protocol, streaming  # without pg8000: MissingDriverError naming the pip extra
from .dialect import PostgreSQLDialect

dbapi = require_driver('pg8000.dbapi', 'pgsql', 'PostgreSQLBackend')

#: options that are server settings of the same name, sent in the startup packet (no round trip)
STARTUP_OPTIONS = ('search_path', 'statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout')
#: ConnectionConfig.options this backend accepts -> parser
OPTIONS: dict[str, OptionParser] = {
    'application_name': as_text, 'ssl': flag, 'ssl_check_hostname': flag, 'tcp_keepalive': flag,
    'read_timeout': seconds, 'pooler': choice(*pooler.POOLER_MODES),
    **dict.fromkeys(STARTUP_OPTIONS, text_or_integer),
}
#: option `pooler` -> the check each statement passes before it is sent (none: every statement)
POOLER_GUARDS = {'transaction': pooler.refuse_session_state}
#: read_only_sql_transaction: a write where only reads are allowed
READ_ONLY_SQLSTATE = '25006'
#: client_encoding -> the Python codec COPY's chunks are encoded with (others: pg8000 encodes them)
_PY_CODECS: dict[str, str | None] = {'UTF8': 'utf-8', 'UNICODE': 'utf-8', 'LATIN1': 'latin-1', 'SQLASCII': None}
#: SQLSTATEs that mean the server ended the session
DISCONNECT_SQLSTATES = frozenset({'57P01', '57P02', '57P03'})
#: what COPY needs of its target: relkind r (table) or p (partitioned), and no rules
COPY_TARGET_SQL = 'SELECT c.relkind, c.relhasrules FROM pg_class c WHERE c.oid = to_regclass(?)'
#: tables whose copy_allowed answer a backend remembers (all forgotten past this)
COPY_TARGETS_KEPT = 256


class PostgreSQLBackend(StorageBackend):
    """PostgreSQL through pg8000: TLS with a verifying SSLContext, UTC sessions, streamed iter()."""

    name = 'postgresql'
    driver_module = 'pg8000.dbapi'
    driver_extra = 'pgsql'
    dialect_class = PostgreSQLDialect
    paramstyle = 'dollar'
    default_port = 5432
    option_specs = OPTIONS
    sqlstate_classes: ClassVar[dict[str, type[errors.DatabaseError]]] = {
        **StorageBackend.sqlstate_classes,
        '21': errors.ProgrammingError, '25': errors.InternalError, '26': errors.ProgrammingError,
        # 2B: dependent objects still exist (DROP of a referenced table): IntegrityError everywhere
        '28': errors.OperationalError, '2B': errors.IntegrityError, '2D': errors.InternalError,
        '34': errors.ProgrammingError, '3D': errors.OperationalError, '3F': errors.ProgrammingError,
        '44': errors.ProgrammingError, '54': errors.OperationalError, '55': errors.OperationalError,
        '58': errors.OperationalError, 'F0': errors.OperationalError, 'P0': errors.InternalError,
        'XX': errors.InternalError,
    }

    # -- connecting ---------------------------------------------------------------------

    @property
    def _copy_targets(self) -> dict[str, bool]:
        """table -> copy_allowed's answer, made on first use (per backend)."""
        targets: dict[str, bool] = self.__dict__.setdefault('_copy_target_cache', {})
        return targets

    def connect_kwargs(self) -> dict[str, Any]:
        """pg8000 connect arguments; session settings travel in the startup packet."""
        config = self.config
        startup = {'TimeZone': 'UTC', 'client_encoding': config.charset or 'UTF8'}
        startup.update({key: value for key, value in self.options.items() if key in STARTUP_OPTIONS})
        kwargs: dict[str, Any] = {
            'user': config.username or getpass.getuser(), 'password': config.password,
            'host': config.host, 'port': config.port or self.default_port, 'database': config.database,
            # False, not None: pg8000 takes None as "try TLS without checking anything".
            'ssl_context': self.ssl_context() or False, 'timeout': config.connect_timeout,
            'application_name': self.options.get('application_name', 'activerecord'),
            'tcp_keepalive': self.options.get('tcp_keepalive', True),
            'startup_params': startup,
        }
        kwargs.update(self._connection_overrides)
        return kwargs

    def open_raw_connection(self, kwargs: dict[str, Any]) -> Any:
        """A pg8000 connection whose cursors send our `$n` SQL in one round trip (and, behind a
        transaction-mode pooler, refuse statements that leave session state)."""
        raw = protocol.OneTripConnection(**kwargs)
        raw.statement_guard = POOLER_GUARDS.get(self.options.get('pooler', 'session'))
        return raw

    def ssl_context(self) -> ssl.SSLContext | None:
        """ssl_ca/ssl_cert ask for verified TLS; options ssl=True asks for it with the system CAs."""
        # pg8000 sends SSLRequest whenever it has a context and fails if the server says no:
        # a server without TLS is refused, never used in plain text.
        context = tls_context(self.config, system_default=self.options.get('ssl', False))
        if context is not None and not self.options.get('ssl_check_hostname', True):
            context.check_hostname = False   # sslmode=verify-ca: the chain is still verified
        return context

    def setup_session(self, raw: Any) -> None:
        """Autocommit mode (the TransactionManager sends BEGIN itself); no read timeout by default."""
        raw.autocommit = True
        protocol.tune_socket(raw, self.options.get('read_timeout'))

    def apply_session_sql(self, raw: Any) -> None:
        """Skipped behind a transaction-mode pooler, where a session SET would stay on a server
        connection other clients get (a hot standby refuses writes by itself)."""
        if raw.statement_guard is None:
            super().apply_session_sql(raw)

    #: from the status of the server's last ReadyForQuery: no round trip
    transaction_open = staticmethod(protocol.transaction_open)  # pyright: ignore[reportAssignmentType]  # called as self.transaction_open(raw): a staticmethod fits

    def close_connection(self, raw: Any) -> None:
        """Close unless already closed (a broken connection may be gone)."""
        if not protocol.is_closed(raw):
            raw.close()

    def read_server_version(self, raw: Any) -> tuple[int, ...]:
        """From the server_version the server reported at startup: no round trip."""
        text = raw.parameter_statuses.get('server_version')
        return parse_version(text) if text else super().read_server_version(raw)

    def tls_in_use(self) -> bool:
        """Whether this session is encrypted, as the server sees it."""
        return bool(self.fetch_value('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'))

    # -- bulk loads ---------------------------------------------------------------------

    def copy_rows(self, table: str, columns: Sequence[str], batches: Iterable[Sequence[Any]]) -> int:
        """COPY table (columns) FROM STDIN with the rows in text format: one statement, streamed."""
        dialect = self.dialect
        sql = copy.copy_sql(dialect.quote, dialect.quote_table(table), columns)
        codec = _PY_CODECS.get((self.config.charset or 'UTF8').upper().replace('-', ''))
        # adapt_params: the same values a multi-row INSERT would bind
        chunks = copy.copy_chunks(batches, len(columns), codec, self.adapt_params)

        def bind(cursor: Any) -> tuple[Any, ...]:
            cursor.copy_source = chunks
            return ()
        return self._statement(sql, (), self.affected_rows, bind)

    def copy_allowed(self, table: str) -> bool:
        """Only into a plain or partitioned table without rules: COPY refuses a view and skips
        rules (triggers it fires). Asked once per table and remembered (forget_table clears it)."""
        known = self._copy_targets.get(table)
        if known is None:
            row = self.query_rows(COPY_TARGET_SQL, [self.dialect.quote_table(table)])[1]
            # a table the catalog does not know: the INSERT path gives the usual error
            known = bool(row) and row[0][0] in ('r', 'p') and not row[0][1]
            if len(self._copy_targets) >= COPY_TARGETS_KEPT:
                self._copy_targets.clear()
            self._copy_targets[table] = known
        return known

    def forget_table(self, table: str) -> None:
        """A created or dropped table may come back as a view: ask the catalog again."""
        self._copy_targets.pop(table, None)

    # -- streaming ----------------------------------------------------------------------

    def open_stream(self, pooled: PooledConnection, sql: str, bound: Any, count: int) -> Any:
        """A server-side cursor (DECLARE ... FETCH), in a transaction of its own if none is open."""
        if not streaming.is_declarable(sql):
            return super().open_stream(pooled, sql, bound, count)  # SHOW, INSERT ... RETURNING
        return streaming.declare_cursor(self, pooled, sql, bound, count)

    # -- errors -------------------------------------------------------------------------

    def error_sqlstate(self, error: BaseException) -> str | None:
        """The 'C' field of the server's ErrorResponse."""
        fields = _error_fields(error)
        return fields.get('C') if fields else None

    def error_class(self, error: BaseException, code: Any) -> type[errors.DatabaseError] | None:
        """25006 (a write in a read-only transaction or on a hot standby): ReadOnlyError."""
        fields = _error_fields(error)
        if fields is not None and fields.get('C') == READ_ONLY_SQLSTATE:
            return errors.ReadOnlyError
        return super().error_class(error, code)

    def is_disconnect(self, error: BaseException) -> bool:
        """Socket-level failures, a closed connection, or the server ending the session."""
        if isinstance(error, (errors.ActiveRecordError, pooler.SessionStateRefused)):
            return False   # refused before anything was sent: the exchange was never started
        fields = _error_fields(error)
        if fields is not None:
            code = fields.get('C', '')
            return code in DISCONNECT_SQLSTATES or code.startswith('08')
        # Anything else broke off a message exchange halfway: the protocol state is unknown.
        return True

    def driver_message(self, error: BaseException) -> str:
        """The server's message, SQLSTATE, detail and hint (pg8000 only gives a dict)."""
        fields = _error_fields(error)
        if fields is None:
            return super().driver_message(error)
        text = f"{fields.get('M', 'error')} (SQLSTATE {fields.get('C', '?')})"
        if fields.get('D'):
            text += f"; {fields['D']}"
        if fields.get('H'):
            text += f"; hint: {fields['H']}"
        if fields.get('W', '').startswith('COPY '):
            # COPY's context names the line (the row, counted from 1) and the column
            text += f"; {fields['W']}"
        return text


def _error_fields(error: BaseException) -> dict[str, str] | None:
    """The ErrorResponse fields of a server error, or None for client-side errors."""
    if isinstance(error, dbapi.DatabaseError) and error.args and isinstance(error.args[0], dict):
        return error.args[0]  # pyright: ignore[reportUnknownVariableType]  # pg8000's ErrorResponse fields
    return None


__all__ = ['PostgreSQLBackend']
