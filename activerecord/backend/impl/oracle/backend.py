"""The Oracle backend on python-oracledb in thin mode (pure Python, no Oracle client libraries).

Thin mode is oracledb's default; this module never calls `init_oracle_client()`. The adapter
supplies the connect arguments (service name or SID, `tcps` with a verifying SSLContext), a
session in UTC with LOBs fetched as values and exact numbers, RETURNING ... INTO for generated
keys, and the ORA-/DPY- error table; PL/SQL calls (`execute_plsql`, `callproc`, `callfunc`)
come from plsql.py.
"""
from __future__ import annotations

import decimal
from typing import Any, ClassVar, Sequence

from .... import errors
from ....errors import ConfigurationError
from ...base import StorageBackend, parse_version, require_driver
from ...options import OptionParser, as_given, choice, integer, or_none
from ...tls import tls_context
from ...pool import PooledConnection
from .dialect import OracleDialect
from .plsql import InOut, Out, PLSQLCalls

oracledb = require_driver('oracledb', 'oracle', 'OracleBackend')

#: ConnectionConfig.options this backend accepts -> parser. Each is passed to oracledb.connect
#: (which checks the text ones) except SESSION_OPTIONS, set on the connection.
OPTIONS: dict[str, OptionParser] = {
    **dict.fromkeys(('service_name', 'sid', 'ssl_server_cert_dn', 'wallet_location', 'https_proxy',
                     'edition', 'program', 'machine'), as_given),
    **dict.fromkeys(('expire_time', 'retry_count', 'retry_delay', 'stmtcachesize', 'https_proxy_port',
                     'sdu', 'call_timeout'), integer),
    'protocol': or_none(choice('tcp', 'tcps', expected="'tcp' or 'tcps'")),
}
#: call_timeout: milliseconds a round trip may take, set on each new connection
SESSION_OPTIONS = frozenset({'call_timeout'})

#: ORA-/DPY- codes whose PEP 249 class (or none) is too vague for the error family
ERROR_CODES: dict[str, type[errors.DatabaseError]] = {
    # constraints
    'ORA-00001': errors.IntegrityError,     # unique constraint violated
    'ORA-01400': errors.IntegrityError,     # cannot insert NULL (also '' into a NOT NULL column)
    'ORA-01407': errors.IntegrityError,     # cannot update to NULL
    'ORA-02290': errors.IntegrityError,     # check constraint violated (booleans, JSON)
    'ORA-02291': errors.IntegrityError,     # parent key not found
    'ORA-02292': errors.IntegrityError,     # child record found
    # concurrency: retryable, the statement did not run
    'ORA-08177': errors.OperationalError,   # can't serialize access for this transaction
    'ORA-00060': errors.OperationalError,   # deadlock detected
    'ORA-00054': errors.OperationalError,   # resource busy and acquire with NOWAIT
    'ORA-30006': errors.OperationalError,   # resource busy; WAIT timeout expired
    'ORA-01555': errors.OperationalError,   # snapshot too old
    'ORA-01013': errors.OperationalError,   # user requested cancel (call_timeout)
    'DPY-4024': errors.OperationalError,    # call timeout exceeded
    'ORA-01456': errors.OperationalError,   # a write inside a READ ONLY transaction
    # the SQL is wrong
    'ORA-00942': errors.ProgrammingError,   # table or view does not exist
    'ORA-00904': errors.ProgrammingError,   # invalid identifier
    'ORA-00900': errors.ProgrammingError,   # invalid SQL statement
    'ORA-00907': errors.ProgrammingError,   # missing right parenthesis
    'ORA-00911': errors.ProgrammingError,   # invalid character
    'ORA-00923': errors.ProgrammingError,   # FROM keyword not found
    'ORA-00932': errors.ProgrammingError,   # inconsistent datatypes
    'ORA-00933': errors.ProgrammingError,   # SQL command not properly ended
    'ORA-00936': errors.ProgrammingError,   # missing expression
    'ORA-00955': errors.ProgrammingError,   # name is already used by an existing object
    'ORA-01008': errors.ProgrammingError,   # not all variables bound
    'ORA-01031': errors.ProgrammingError,   # insufficient privileges
    'ORA-01036': errors.ProgrammingError,   # illegal variable name/number
    'ORA-01418': errors.ProgrammingError,   # specified index does not exist
    'ORA-01790': errors.ProgrammingError,   # expression must have same datatype
    'ORA-01795': errors.ProgrammingError,   # more than 1000 expressions in a list
    'ORA-02449': errors.IntegrityError,     # DROP TABLE of a table that foreign keys reference (API.md)
    'ORA-06550': errors.ProgrammingError,   # PL/SQL compilation error
    'ORA-06553': errors.ProgrammingError,   # PLS- error (wrong call)
    'ORA-04043': errors.ProgrammingError,   # object does not exist
    'ORA-38104': errors.ProgrammingError,   # MERGE cannot update ON columns
    # the value does not fit
    'ORA-01438': errors.DataError,          # value larger than specified precision
    'ORA-12899': errors.DataError,          # value too large for column
    'ORA-01401': errors.DataError,          # inserted value too large for column
    'ORA-01722': errors.DataError,          # invalid number
    'ORA-01476': errors.DataError,          # divisor is equal to zero
    'ORA-01839': errors.DataError,          # date not valid for month specified
    'ORA-01841': errors.DataError,          # year must be between -4713 and +9999
    'ORA-01843': errors.DataError,          # not a valid month
    'ORA-01847': errors.DataError,          # day of month must be between 1 and last day
    'ORA-01861': errors.DataError,          # literal does not match format string
    'ORA-01873': errors.DataError,          # leading precision of the interval is too small
    'ORA-06502': errors.DataError,          # PL/SQL: numeric or value error
    'ORA-40441': errors.DataError,          # JSON syntax error
    # connecting and the connection itself
    'ORA-01017': errors.OperationalError,   # invalid username/password
    'ORA-28000': errors.OperationalError,   # account is locked
    'ORA-12514': errors.OperationalError,   # listener does not know the service
    'ORA-12505': errors.OperationalError,   # listener does not know the SID
    'ORA-12541': errors.OperationalError,   # no listener
    'DPY-6000': errors.OperationalError,    # listener refused connection
    'DPY-6001': errors.OperationalError,    # service not registered with the listener
    'DPY-6003': errors.OperationalError,    # SID not registered with the listener
    'DPY-6005': errors.OperationalError,    # cannot connect to database
    'DPY-4011': errors.OperationalError,    # the database or network closed the connection
    'DPY-1001': errors.OperationalError,    # not connected to database
    'DPY-4005': errors.OperationalError,    # timed out waiting for the pool
}
#: codes that mean the session is gone (oracledb maps ORA-03113/03114/03135/00028... to DPY-4011)
DISCONNECT_CODES = frozenset({
    'DPY-4011', 'DPY-1001', 'ORA-03113', 'ORA-03114', 'ORA-03135', 'ORA-00028', 'ORA-01012',
    'ORA-02396', 'ORA-01092', 'ORA-12537', 'ORA-12547', 'ORA-12570',
})
def _number_outconverter(value: decimal.Decimal) -> Any:
    """A NUMBER of unknown scale (COUNT, SUM, NUMBER without precision): int when integral."""
    return int(value) if value == value.to_integral_value() else value


def output_type_handler(cursor: Any, metadata: Any) -> Any:
    """Fetch LOBs as str/bytes and numbers exactly (Decimal, never float) on every cursor."""
    type_code = metadata.type_code
    if type_code is oracledb.DB_TYPE_NUMBER:
        if metadata.scale == 0 and metadata.precision:
            return None                       # NUMBER(p) / NUMBER(p, 0): the driver gives int
        if metadata.scale and metadata.scale > 0:
            return cursor.var(decimal.Decimal, arraysize=cursor.arraysize)
        return cursor.var(decimal.Decimal, arraysize=cursor.arraysize, outconverter=_number_outconverter)
    long_type = _LOB_AS_LONG.get(type_code)
    if long_type is not None:
        # LOB locators need the connection to read them later; values can leave the pool.
        return cursor.var(long_type, arraysize=cursor.arraysize)
    return None


_LOB_AS_LONG = {
    oracledb.DB_TYPE_CLOB: oracledb.DB_TYPE_LONG,
    oracledb.DB_TYPE_NCLOB: oracledb.DB_TYPE_LONG_NVARCHAR,
    oracledb.DB_TYPE_BLOB: oracledb.DB_TYPE_LONG_RAW,
}


class OracleBackend(PLSQLCalls, StorageBackend):
    """Oracle Database 12.2+ through oracledb's thin mode."""

    name = 'oracle'
    driver_module = 'oracledb'
    driver_extra = 'oracle'
    dialect_class = OracleDialect
    paramstyle = 'named'
    default_port = 1521
    option_specs = OPTIONS
    error_codes: ClassVar[dict[Any, type[errors.DatabaseError]]] = ERROR_CODES
    #: deadlock detected, can't serialize access
    retryable_codes: ClassVar[frozenset[Any]] = frozenset({'ORA-00060', 'ORA-08177'})
    sqlstate_classes: ClassVar[dict[str, type[errors.DatabaseError]]] = {}
    #: the session time zone: datetimes are bound and read as UTC wall times (see types.py)
    session_statements: ClassVar[tuple[str, ...]] = ("ALTER SESSION SET TIME_ZONE = '+00:00'",)

    # -- configuration ------------------------------------------------------------------

    def check_config(self, config: Any) -> None:
        """A service name (database) or options sid; no plain tcp when TLS files are given."""
        if config.database is None and 'sid' not in self.options and 'service_name' not in self.options:
            raise ConfigurationError('ConnectionConfig.database: None is not allowed for OracleBackend; expected '
                                     "the service name (e.g. 'FREEPDB1'), or options={'sid': ...}")
        if self.options.get('protocol') == 'tcp' and (config.ssl_ca or config.ssl_cert):
            raise ConfigurationError("ConnectionConfig.options['protocol']: 'tcp' is not allowed with ssl_ca/"
                                     "ssl_cert; TLS needs 'tcps' (the default when ssl_ca is set)")

    def uses_tls(self) -> bool:
        """Whether connections use tcps (ssl_ca/ssl_cert given, or options protocol='tcps')."""
        return bool(self.config.ssl_ca or self.config.ssl_cert) or self.options.get('protocol') == 'tcps'

    def connect_kwargs(self) -> dict[str, Any]:
        """oracledb.connect keywords: host, port, service name or SID, credentials, tcps + SSLContext."""
        config = self.config
        kwargs: dict[str, Any] = {
            'user': config.username, 'password': config.password,
            'host': config.host, 'port': config.port or self.default_port,
            'tcp_connect_timeout': float(config.connect_timeout),
            'retry_count': 0,
        }
        if 'sid' not in self.options and 'service_name' not in self.options:
            kwargs['service_name'] = config.database
        kwargs.update((key, value) for key, value in self.options.items() if key not in SESSION_OPTIONS)
        if self.uses_tls():
            kwargs['protocol'] = 'tcps'
            # The driver verifies the chain with this context and matches the certificate to
            # the host name itself (ssl_server_dn_match); ssl_verify=False turns both off.
            kwargs['ssl_context'] = tls_context(config, system_default=True)
            kwargs['ssl_server_dn_match'] = config.ssl_verify
        kwargs.update(self._connection_overrides)
        return kwargs

    # -- sessions -----------------------------------------------------------------------

    def setup_session(self, raw: Any) -> None:
        """Autocommit outside transactions, exact numbers, LOBs as values, UTC session time zone."""
        raw.autocommit = True
        raw.outputtypehandler = output_type_handler
        if 'call_timeout' in self.options:
            raw.call_timeout = self.options['call_timeout']
        for statement in self.session_statements:
            self.run_internal(raw, statement)

    def begin(self, pooled: PooledConnection, statements: Sequence[str]) -> None:
        """Oracle has no BEGIN: a transaction is the driver's autocommit turned off (then SET TRANSACTION)."""
        pooled.raw.autocommit = False
        try:
            self.run_control(pooled, statements)
        except BaseException:
            if not pooled.invalidated:
                pooled.raw.autocommit = True
            raise

    def end(self, pooled: PooledConnection, statements: Sequence[str], commit: bool) -> None:
        """COMMIT or ROLLBACK, then autocommit again (also when COMMIT failed: Oracle rolled back)."""
        try:
            self.run_control(pooled, statements)
        finally:
            if not pooled.invalidated:   # a closed connection refuses the setting, and is gone anyway
                pooled.raw.autocommit = True

    def reset_connection(self, raw: Any) -> None:
        """Roll back what a transaction left behind and put autocommit back on."""
        if not raw.autocommit or self.transaction_open(raw):
            raw.rollback()
        raw.autocommit = True

    def transaction_open(self, raw: Any) -> bool:
        """oracledb knows whether the session has uncommitted work."""
        return bool(getattr(raw, 'transaction_in_progress', True))

    def ping_connection(self, raw: Any) -> None:
        """One round trip without SQL."""
        raw.ping()

    def read_server_version(self, raw: Any) -> tuple[int, ...]:
        """The version the server reported at login ('19.3.0.0.0' -> (19, 3, 0, 0, 0))."""
        return parse_version(raw.version)

    def tls_in_use(self) -> bool:
        """Whether this session runs over TLS, as the server sees it."""
        protocol = self.fetch_value("SELECT SYS_CONTEXT('USERENV', 'NETWORK_PROTOCOL') FROM DUAL")
        return str(protocol or '').lower() == 'tcps'

    # -- errors -------------------------------------------------------------------------

    @staticmethod
    def _driver_error(error: BaseException) -> Any:
        args = getattr(error, 'args', ())
        return args[0] if args and hasattr(args[0], 'full_code') else None

    def error_code(self, error: BaseException) -> Any:
        """'ORA-00001', 'DPY-4011', ...: oracledb's full code."""
        driver_error = self._driver_error(error)
        return None if driver_error is None else driver_error.full_code or None

    def is_disconnect(self, error: BaseException) -> bool:
        """The driver marks the session dead, or the code is a lost-connection one."""
        driver_error = self._driver_error(error)
        if driver_error is None:
            return isinstance(error, (OSError, EOFError))
        return bool(getattr(driver_error, 'is_session_dead', False)) or driver_error.full_code in DISCONNECT_CODES

    # -- generated keys -----------------------------------------------------------------

    def key_outputs(self, cursor: Any, count: int) -> list[Any]:
        """Variables for RETURNING ... INTO: the key is an identity (NUMBER), further columns text."""
        return [cursor.var(int)] + [cursor.var(str) for _ in range(count - 1)]

    def returned_key(self, cursor: Any, outputs: Sequence[Any] = ()) -> Any:
        """The key's output variable, which holds one value per row the statement touched."""
        values = outputs[0].getvalue()
        if isinstance(values, list):  # of driver values: pyright reads the narrowed list as list[Unknown]
            return values[0] if values else None  # pyright: ignore[reportUnknownVariableType]
        return values


__all__ = ['OracleBackend', 'Out', 'InOut', 'ERROR_CODES', 'DISCONNECT_CODES', 'output_type_handler']
