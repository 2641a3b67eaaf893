"""The SQLite backend on the standard library's sqlite3 (always available)."""
from __future__ import annotations

import itertools
import os
import sqlite3
import threading
from typing import Any

from .... import errors
from ....errors import ConfigurationError
from ...base import StorageBackend
from ...options import OptionParser, choice, flag, refused
from ...typing import ConnectionConfig
from .dialect import SQLiteDialect
from .functions import refusal, register_functions

_memory_names = itertools.count(1)


def _pragma_integer(name: str, value: Any) -> int:
    """Whatever int() takes but a bool: SQLite's PRAGMA numbers have always been read so (5.5 -> 5)."""
    try:
        if not isinstance(value, bool):
            return int(value)
    except (TypeError, ValueError, OverflowError):
        pass
    raise refused(name, value, 'an integer')


#: option -> parser; options become PRAGMAs on every new connection. PRAGMAs cannot take bound
#: parameters, so only these checked words and integers are written into the statement.
PRAGMA_OPTIONS: dict[str, OptionParser] = {
    'journal_mode': choice('DELETE', 'TRUNCATE', 'PERSIST', 'MEMORY', 'WAL', 'OFF', any_case=True),
    'synchronous': choice('OFF', 'NORMAL', 'FULL', 'EXTRA', '0', '1', '2', '3', any_case=True),
    'foreign_keys': flag,
    'busy_timeout': _pragma_integer,
    'cache_size': _pragma_integer,
    'temp_store': choice('DEFAULT', 'FILE', 'MEMORY', '0', '1', '2', any_case=True),
    'mmap_size': _pragma_integer,
    'wal_autocheckpoint': _pragma_integer,
}
DEFAULT_PRAGMAS = {'foreign_keys': True, 'busy_timeout': 5000}


def relative_path_hint(path: str) -> str:
    """Why a relative SQLite path may not be where one thought: sqlite:///x.db is relative."""
    return (f'sqlite:///{path} is a path relative to the working directory {os.getcwd()!r}; '
            f'for an absolute path write sqlite:////{path}')


def refuse_double_quoted_strings(raw: sqlite3.Connection) -> None:
    """Make "name" always an identifier: an unknown column is an error, never the string 'name'.

    Needs Python 3.12+ (Connection.setconfig); older versions keep SQLite's default, and the
    model's first-use schema check still catches fields without a column.
    """
    # looked up by name: the checkers read the stubs of the oldest Python supported (3.11)
    setconfig = getattr(raw, 'setconfig', None)
    if setconfig is not None and hasattr(sqlite3, 'SQLITE_DBCONFIG_DQS_DML'):
        setconfig(getattr(sqlite3, 'SQLITE_DBCONFIG_DQS_DML'), False)
        setconfig(getattr(sqlite3, 'SQLITE_DBCONFIG_DQS_DDL'), False)


class SQLiteBackend(StorageBackend):
    """SQLite through the generic pool; ':memory:' is one database shared by the pool."""

    name = 'sqlite'
    driver_module = 'sqlite3'
    dialect_class = SQLiteDialect
    paramstyle = 'qmark'
    #: sqlite3 resets a statement once its last row is read: its cursor can run the next one
    reusable_cursor = True
    option_specs = PRAGMA_OPTIONS
    #: sqlite3 raises OperationalError for every SQLITE_ERROR (syntax, no such table/column):
    #: those are mistakes in the SQL, i.e. ProgrammingError in PEP 249's terms.
    error_codes = {'SQLITE_ERROR': errors.ProgrammingError, 'SQLITE_MISMATCH': errors.DataError,
                   'SQLITE_TOOBIG': errors.DataError}
    #: a lock SQLite refused to wait for (a deferred transaction upgrading to a write, whose
    #: busy handler would deadlock): the whole transaction may succeed when run again
    retryable_codes = frozenset({'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED'})

    def __init__(self, config: ConnectionConfig, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        #: PRAGMA name -> its value as written into `PRAGMA name = value`
        self.pragmas = {key: ('ON' if value else 'OFF') if isinstance(value, bool) else str(value)
                        for key, value in {**DEFAULT_PRAGMAS, **self.options}.items()}
        self.is_memory = config.database in (':memory:', '')
        # A private name in the memdb VFS: every pooled connection opens the same in-memory
        # database. (Shared-cache mode would too, but its table locks fail at once with
        # SQLITE_LOCKED instead of waiting busy_timeout, so concurrent threads would error.)
        name = f'activerecord-memory-{os.getpid()}-{next(_memory_names)}'
        self._memory_uri = (f'file:/{name}?vfs=memdb' if sqlite3.sqlite_version_info >= (3, 36)
                            else f'file:{name}?mode=memory&cache=shared')  # memdb sharing needs 3.36
        self._anchor: sqlite3.Connection | None = None  # keeps the memory database alive
        self._anchor_lock = threading.Lock()

    def check_config(self, config: ConnectionConfig) -> None:
        """SQLite needs only `database` (a path or ':memory:')."""
        if config.database is None:
            raise ConfigurationError("ConnectionConfig.database: None is not allowed for SQLiteBackend; "
                                     "expected a file path or ':memory:'")

    def connect_kwargs(self) -> dict[str, Any]:
        """sqlite3.connect arguments: autocommit mode (we BEGIN ourselves), any thread."""
        kwargs: dict[str, Any] = {
            'database': self._memory_uri if self.is_memory else self.config.database,
            'isolation_level': None, 'check_same_thread': False,
            'timeout': int(self.pragmas['busy_timeout']) / 1000,
            'uri': self.is_memory, 'cached_statements': 256,
        }
        kwargs.update(self._connection_overrides)
        return kwargs

    def _open_connection(self) -> Any:
        if self.is_memory:
            with self._anchor_lock:
                if self._anchor is None:
                    self._anchor = super()._open_connection()
        return super()._open_connection()

    def setup_session(self, raw: sqlite3.Connection) -> None:
        """Register the library's SQL functions and apply the PRAGMAs from options on every new connection."""
        register_functions(raw)
        refuse_double_quoted_strings(raw)
        for key, value in self.pragmas.items():
            if key == 'journal_mode' and self.is_memory:
                continue  # an in-memory database has no journal file to put in WAL mode
            self.run_internal(raw, f'PRAGMA {key} = {value}')

    def transaction_open(self, raw: sqlite3.Connection) -> bool:
        """sqlite3 knows whether a transaction is open."""
        return raw.in_transaction

    def reset_connection(self, raw: sqlite3.Connection) -> None:
        """Roll back a transaction left open (transaction_open() inline: this runs after every statement)."""
        if raw.in_transaction:
            raw.rollback()

    def is_disconnect(self, error: BaseException) -> bool:
        """A closed sqlite3 connection raises ProgrammingError('Cannot operate on a closed database')."""
        return 'closed database' in str(error)

    def error_code(self, error: BaseException) -> Any:
        """sqlite3's extended error code name, e.g. 'SQLITE_CONSTRAINT_UNIQUE'."""
        return getattr(error, 'sqlite_errorname', None)

    def error_class(self, error: BaseException, code: Any) -> type[errors.DatabaseError] | None:
        """An exact decimal aggregate that refused its result is a DataError (see driver_message)."""
        if refusal.message is not None and 'user-defined' in str(error):
            return errors.DataError
        return super().error_class(error, code)

    def driver_message(self, error: BaseException) -> str:
        """Why an exact decimal aggregate refused its result (sqlite3 says only "user-defined aggregate's
        'finalize' method raised error"; the function left its reason in functions.refusal), else sqlite3's."""
        reason, refusal.message = refusal.message, None
        return reason if reason is not None and 'user-defined' in str(error) else super().driver_message(error)

    def translate_error(self, error: BaseException, connecting: bool = False) -> errors.ActiveRecordError:
        """A file that cannot be opened at a relative path says how to write an absolute one."""
        translated = super().translate_error(error, connecting)
        path = self.config.database or ''
        if connecting and not self.is_memory and isinstance(translated, errors.DatabaseError) \
                and not os.path.isabs(path) and not path.startswith('file:'):
            hint = relative_path_hint(path)
            if translated.args and hint not in str(translated.args[0]):
                translated.args = (f'{translated.args[0]} ({hint})', *translated.args[1:])
        return translated

    def where(self) -> str:
        """The database file (or ':memory:')."""
        return self.config.database or ':memory:'

    def sibling_overrides(self) -> dict[str, Any]:
        """An in-memory database is reached by its private name (while this backend is open)."""
        overrides = super().sibling_overrides()
        if self.is_memory:
            overrides.update(database=self._memory_uri, uri=True)
        return overrides

    def close(self) -> None:
        """Close every connection; an in-memory database is gone after this."""
        super().close()
        with self._anchor_lock:
            if self._anchor is not None:
                self._anchor.close()
                self._anchor = None


__all__ = ['SQLiteBackend']
