"""The Oracle backend on python-oracledb in thin mode (pure Python, no Oracle client libraries).

Thin mode is oracledb's default; this module never calls `init_oracle_client()`. The adapter
supplies the connect arguments (service name or SID, `tcps` with a verifying SSLContext), a
session in UTC with LOBs fetched as values and exact numbers, RETURNING ... INTO for generated
keys, the ORA-/DPY- error table, and PL/SQL calls (`execute_plsql`, `callproc`, `callfunc`).
"""
from __future__ import annotations

import datetime
import decimal
import re
import time
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Sequence

from .... import errors
from ....errors import ConfigurationError, ProgrammingError
from ...base import StorageBackend, parse_version, require_driver
from ...placeholders import translate
from ...pool import PooledConnection
from .dialect import OracleDialect

oracledb = require_driver('oracledb', 'oracle', 'OracleBackend')

#: ConnectionConfig.options this backend accepts (each is passed to oracledb.connect as is,
#: except call_timeout, which is set on the connection, in milliseconds)
CONNECT_OPTIONS = frozenset({
    'service_name', 'sid', 'protocol', 'ssl_server_cert_dn', 'wallet_location', 'expire_time',
    'retry_count', 'retry_delay', 'stmtcachesize', 'https_proxy', 'https_proxy_port', 'edition',
    'program', 'machine', 'sdu',
})
SESSION_OPTIONS = frozenset({'call_timeout'})
_INT_OPTIONS = frozenset({'expire_time', 'retry_count', 'retry_delay', 'stmtcachesize',
                          'https_proxy_port', 'sdu', 'call_timeout'})

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
#: a name given to callproc/callfunc: [schema.][package.]name, unquoted or "quoted" parts
_PLSQL_NAME = re.compile(r'(?:[A-Za-z][A-Za-z0-9_$#]*|"[^"\x00]+")(?:\.(?:[A-Za-z][A-Za-z0-9_$#]*|"[^"\x00]+")){0,2}\Z')
_KEYWORD_NAME = re.compile(r'[A-Za-z][A-Za-z0-9_$#]*\Z')
#: text and bytes OUT variables are sized for the largest PL/SQL VARCHAR2/RAW
PLSQL_MAX_BYTES = 32767


@dataclass(frozen=True)
class Out:
    """An OUT parameter of execute_plsql / callproc: its Python type (or an oracledb DB_TYPE_*)."""
    type: Any = str
    size: int = 0


@dataclass(frozen=True)
class InOut:
    """An IN OUT parameter: the value sent in, and the type of the value that comes back."""
    value: Any
    type: Any = None
    size: int = 0


def _number_outconverter(value: decimal.Decimal) -> Any:
    """A NUMBER of unknown scale (COUNT, SUM, NUMBER without precision): int when integral."""
    if value == value.to_integral_value():
        return int(value)
    return value


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


class OracleBackend(StorageBackend):
    """Oracle Database 12.2+ through oracledb's thin mode."""

    name = 'oracle'
    driver_module = 'oracledb'
    driver_extra = 'oracle'
    dialect_class = OracleDialect
    paramstyle = 'named'
    default_port = 1521
    known_options = CONNECT_OPTIONS | SESSION_OPTIONS
    error_codes: ClassVar[dict[Any, type[errors.DatabaseError]]] = ERROR_CODES
    #: deadlock detected, can't serialize access
    retryable_codes: ClassVar[frozenset[Any]] = frozenset({'ORA-00060', 'ORA-08177'})
    sqlstate_classes: ClassVar[dict[str, type[errors.DatabaseError]]] = {}
    #: the session time zone: datetimes are bound and read as UTC wall times (see types.py)
    session_statements: ClassVar[tuple[str, ...]] = ("ALTER SESSION SET TIME_ZONE = '+00:00'",)

    Out = Out
    InOut = InOut

    # -- configuration ------------------------------------------------------------------

    def check_config(self, config: Any) -> None:
        """A service name (database) or options sid; integer options must be integers."""
        if config.database is None and 'sid' not in config.options and 'service_name' not in config.options:
            raise ConfigurationError('ConnectionConfig.database: None is not allowed for OracleBackend; expected '
                                     "the service name (e.g. 'FREEPDB1'), or options={'sid': ...}")
        for key in _INT_OPTIONS & set(config.options):
            value = config.options[key]
            if isinstance(value, bool) or not str(value).lstrip('-').isdigit():
                raise ConfigurationError(f'ConnectionConfig.options[{key!r}]: {value!r} is not allowed; '
                                         'expected an integer')
        protocol = config.options.get('protocol')
        if protocol is not None and protocol not in ('tcp', 'tcps'):
            raise ConfigurationError(f"ConnectionConfig.options['protocol']: {protocol!r} is not allowed; "
                                     "expected 'tcp' or 'tcps'")
        if protocol == 'tcp' and (config.ssl_ca or config.ssl_cert):
            raise ConfigurationError("ConnectionConfig.options['protocol']: 'tcp' is not allowed with ssl_ca/"
                                     "ssl_cert; TLS needs 'tcps' (the default when ssl_ca is set)")

    def uses_tls(self) -> bool:
        """Whether connections use tcps (ssl_ca/ssl_cert given, or options protocol='tcps')."""
        config = self.config
        return bool(config.ssl_ca or config.ssl_cert) or config.options.get('protocol') == 'tcps'

    def connect_kwargs(self) -> dict[str, Any]:
        """oracledb.connect keywords: host, port, service name or SID, credentials, tcps + SSLContext."""
        config = self.config
        kwargs: dict[str, Any] = {
            'user': config.username, 'password': config.password,
            'host': config.host, 'port': config.port or self.default_port,
            'tcp_connect_timeout': float(config.connect_timeout),
            'retry_count': 0,
        }
        options = dict(config.options)
        options.pop('call_timeout', None)
        if 'sid' not in options and 'service_name' not in options:
            kwargs['service_name'] = config.database
        for key, value in options.items():
            kwargs[key] = int(value) if key in _INT_OPTIONS else value
        if self.uses_tls():
            kwargs['protocol'] = 'tcps'
            # The driver verifies the chain with this context and matches the certificate to
            # the host name itself (ssl_server_dn_match); ssl_verify=False turns both off.
            kwargs['ssl_context'] = self.ssl_context() or _default_tls_context(config.ssl_verify)
            kwargs['ssl_server_dn_match'] = config.ssl_verify
        kwargs.update(self._connection_overrides)
        return kwargs

    # -- sessions -----------------------------------------------------------------------

    def setup_session(self, raw: Any) -> None:
        """Autocommit outside transactions, exact numbers, LOBs as values, UTC session time zone."""
        raw.autocommit = True
        raw.outputtypehandler = output_type_handler
        call_timeout = self.config.options.get('call_timeout')
        if call_timeout is not None:
            raw.call_timeout = int(call_timeout)
        for statement in self.session_statements:
            self.run_internal(raw, statement)

    def run_control(self, pooled: PooledConnection, statements: Sequence[str]) -> None:
        """Oracle has no BEGIN: opening a transaction turns the driver's autocommit off."""
        raw = pooled.raw
        opening = not pooled.in_transaction
        if opening:
            raw.autocommit = False
        try:
            super().run_control(pooled, statements)
        except BaseException:
            if opening:
                raw.autocommit = True
            raise
        finally:
            if not opening and statements and statements[-1] in (self.dialect.commit_sql, self.dialect.rollback_sql):
                raw.autocommit = True   # the transaction is over (even if COMMIT failed: Oracle rolled back)

    def _reset_connection(self, raw: Any) -> None:
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

    def insert_returning_key(self, sql: str, params: Sequence[Any]) -> Any:
        """Run INSERT ... RETURNING col INTO ?: output variables fill the extra placeholders."""
        translated = translate(sql, self.paramstyle, False, self.dialect.lexical_rules)
        outputs = translated.placeholder_count - len(params)
        if outputs < 1:
            raise ProgrammingError('insert_returning_key needs an INSERT built with returning=[...] '
                                   f'(RETURNING ... INTO ?) on oracle; got: {sql[:200]}')
        with self.connection() as pooled:
            cursor = self._cursor(pooled)
            try:
                # The key is an identity (NUMBER) column; further columns come back as text.
                variables = [cursor.var(int)] + [cursor.var(str) for _ in range(outputs - 1)]
                bound = translated.bind(list(self.adapt_params(params)) + variables)
                self._execute_on(pooled, cursor, translated.sql, bound, translated.placeholder_count)
                values = variables[0].getvalue()
            finally:
                self._close_cursor(cursor)
        # A DML RETURNING variable holds one value per row the statement touched.
        if isinstance(values, list):
            return values[0] if values else None
        return values

    # -- PL/SQL -------------------------------------------------------------------------

    def execute_plsql(self, block: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> Any:
        """Run an anonymous PL/SQL block; returns its parameters after the call (OUT ones filled in).

        Positional parameters use `?` placeholders; a dict binds `:name` placeholders by name.
        Mark output parameters with `OracleBackend.Out(type)` / `OracleBackend.InOut(value, type)`.
        """
        if params is None:
            params = ()
        if isinstance(params, Mapping):
            for key in params:
                if not isinstance(key, str) or not _KEYWORD_NAME.match(key):
                    raise ProgrammingError(f'execute_plsql: bind name {key!r} is not an identifier')
            return self._call(block, dict(params), len(params), named=True)
        if not isinstance(params, (list, tuple)):
            raise ProgrammingError(f'execute_plsql: parameters must be a list, tuple or dict, got '
                                   f'{type(params).__name__}')
        translated = translate(block, self.paramstyle, False, self.dialect.lexical_rules)
        if translated.placeholder_count != len(params):
            translated.bind(params)  # raises the count error
        return self._call(translated.sql, list(params), len(params), named=False)

    def callproc(self, name: str, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None) -> list[Any]:
        """Call a stored procedure; returns `args` with OUT/IN OUT values replaced by their results.

        `kwargs` pass parameters by name (`name => value`); their results are not returned.
        """
        call, binds = self._call_text(name, args, kwargs)
        values = self._call(f'BEGIN {call}; END;', binds, len(binds), named=True)
        return [values[f'p{index}'] for index in range(1, len(args) + 1)]

    def callfunc(self, name: str, return_type: Any, args: Sequence[Any] = (),
                 kwargs: Mapping[str, Any] | None = None) -> Any:
        """Call a stored function and return its value (`return_type`: a Python type or DB_TYPE_*)."""
        call, binds = self._call_text(name, args, kwargs)
        binds = {'ret': Out(return_type), **binds}
        values = self._call(f'BEGIN :ret := {call}; END;', binds, len(binds), named=True)
        return values['ret']

    def _call_text(self, name: str, args: Sequence[Any],
                   kwargs: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
        if not isinstance(name, str) or not _PLSQL_NAME.match(name):
            raise ProgrammingError(f'{name!r} is not a PL/SQL name; expected [schema.][package.]name')
        if not isinstance(args, (list, tuple)):
            raise ProgrammingError(f'the arguments of {name} must be a list or tuple, got {type(args).__name__}')
        binds = {f'p{index}': value for index, value in enumerate(args, 1)}
        parts = [f':p{index}' for index in range(1, len(args) + 1)]
        for key, value in (kwargs or {}).items():
            if not isinstance(key, str) or not _KEYWORD_NAME.match(key):
                raise ProgrammingError(f'{name}: parameter name {key!r} is not an identifier')
            binds[f'k_{key}'] = value
            parts.append(f'{key} => :k_{key}')
        return f'{name}(' + ', '.join(parts) + ')', binds

    def _call(self, sql: str, params: list[Any] | dict[str, Any], count: int, named: bool) -> Any:
        """Execute a PL/SQL block with OUT variables; returns the parameters after the call."""
        with self.connection() as pooled:
            cursor = self._cursor(pooled)
            try:
                items = params.items() if named else enumerate(params, 1)
                bound = {}
                variables = {}
                for key, value in items:
                    bind_name = key if named else f'p{key}'
                    if isinstance(value, (Out, InOut)):
                        variable = self._plsql_variable(cursor, value)
                        variables[bind_name] = variable
                        bound[bind_name] = variable
                    else:
                        bound[bind_name] = self._plsql_value(value)
                self._execute_on(pooled, cursor, sql, bound, count)
                results = {key: (variables[key].getvalue() if key in variables else value)
                           for key, value in bound.items()}
            finally:
                self._close_cursor(cursor)
        for key, value in params.items() if named else enumerate(params, 1):
            bind_name = key if named else f'p{key}'
            if not isinstance(value, (Out, InOut)):
                results[bind_name] = value     # the caller's object, not its driver form
        if named:
            return results
        return [results[f'p{index}'] for index in range(1, len(params) + 1)]

    def _plsql_variable(self, cursor: Any, parameter: Out | InOut) -> Any:
        python_type = parameter.type
        if python_type is None and isinstance(parameter, InOut):
            python_type = type(parameter.value) if parameter.value is not None else str
        size = parameter.size or (PLSQL_MAX_BYTES if python_type in (str, bytes) else 0)
        variable = cursor.var(python_type, size)
        if isinstance(parameter, InOut):
            variable.setvalue(0, self._plsql_value(parameter.value))
        return variable

    def _plsql_value(self, value: Any) -> Any:
        """A PL/SQL argument: bool stays a PL/SQL BOOLEAN; other types convert as in SQL."""
        if value is None or isinstance(value, (bool, int, float, str, bytes, decimal.Decimal,
                                               datetime.date, datetime.timedelta)):
            return value
        return self.adapt_params([value])[0]

    # -- execution helpers --------------------------------------------------------------

    def _cursor(self, pooled: PooledConnection) -> Any:
        try:
            return pooled.raw.cursor()
        except Exception as error:
            self._handle_failure(pooled, error)
            raise self.translate_error(error) from error

    def _execute_on(self, pooled: PooledConnection, cursor: Any, sql: str, bound: Any, count: int) -> None:
        """cursor.execute with the same logging and error translation as every statement."""
        started = time.perf_counter()
        try:
            cursor.execute(sql, bound)
        except Exception as error:
            self._log(sql, count, started, error)
            self._handle_failure(pooled, error)
            raise self.translate_error(error) from error
        self._log(sql, count, started, None)


def _default_tls_context(verify: bool) -> Any:
    """The system's trust store (options protocol='tcps' without ssl_ca)."""
    import ssl
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


__all__ = ['OracleBackend', 'Out', 'InOut', 'ERROR_CODES', 'DISCONNECT_CODES', 'output_type_handler']
