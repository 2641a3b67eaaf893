"""Error translation: the one chokepoint (`translate_error`) that turns a driver's exception
into activerecord.errors, and the tables and hooks a database fills in for it.

A mixin of StorageBackend (base.py), which calls translate_error wherever a driver call fails.
"""
from __future__ import annotations

import ssl
from typing import Any, ClassVar

from .. import errors
from ..errors import ActiveRecordError
from .typing import ConnectionConfig

#: PEP 249 exception names, most specific first -> our error class.
_PEP249_NAMES: tuple[tuple[str, type[errors.DatabaseError]], ...] = (
    ('IntegrityError', errors.IntegrityError), ('DataError', errors.DataError),
    ('NotSupportedError', errors.NotSupportedError), ('ProgrammingError', errors.ProgrammingError),
    ('OperationalError', errors.OperationalError), ('InternalError', errors.InternalError),
    ('InterfaceError', errors.InterfaceError), ('DatabaseError', errors.DatabaseError),
)


#: exceptions a driver raises for a value it cannot bind -> what the DataError adds to the message
_UNBINDABLE_VALUES: dict[type, str] = {
    UnicodeEncodeError: '; text values must be valid Unicode (a lone surrogate cannot be stored)',
    OverflowError: '; integers must fit in 64 bits (out of range for any integer column)',
}


class ErrorTranslation:
    """translate_error and what it reads: error-code and SQLSTATE tables, retryable codes, hooks."""

    # The backend's (base.py).
    name: ClassVar[str]
    default_port: ClassVar[int | None]
    config: ConnectionConfig

    #: driver error code -> our error class, for codes whose PEP 249 class is too vague
    error_codes: ClassVar[dict[Any, type[errors.DatabaseError]]] = {}
    #: SQLSTATE class (first two characters) -> our error class
    sqlstate_classes: ClassVar[dict[str, type[errors.DatabaseError]]] = {
        '08': errors.OperationalError, '22': errors.DataError, '23': errors.IntegrityError,
        '40': errors.OperationalError, '42': errors.ProgrammingError, '53': errors.OperationalError,
        '57': errors.OperationalError, '0A': errors.NotSupportedError,
        '2B': errors.IntegrityError,   # dependent objects still exist (DROP of a referenced table)
    }

    #: SQLSTATEs after which running the whole transaction again may succeed: serialization
    #: failure and deadlock (the database rolled the transaction back)
    retryable_sqlstates: ClassVar[frozenset[str]] = frozenset({'40001', '40P01'})
    #: driver error codes with the same meaning, for databases whose codes say it better
    retryable_codes: ClassVar[frozenset[Any]] = frozenset()
    #: driver error codes that end the connection but would fail again on a new one (the same
    #: statement is still too big): the connection is discarded, the error is not retryable
    permanent_codes: ClassVar[frozenset[Any]] = frozenset()

    # -- hooks a database fills in ------------------------------------------------------

    def is_disconnect(self, error: BaseException) -> bool:
        """Whether a driver error means the connection is gone."""
        return False

    def error_code(self, error: BaseException) -> Any:
        """The database's own error number for a driver error, if it has one."""
        return None

    def error_sqlstate(self, error: BaseException) -> str | None:
        """The SQLSTATE of a driver error, if the driver reports one."""
        return None

    # -- the chokepoint -----------------------------------------------------------------

    def translate_error(self, error: BaseException, connecting: bool = False) -> errors.ActiveRecordError:
        """The one chokepoint that turns a driver exception into activerecord.errors."""
        if isinstance(error, ActiveRecordError):
            return error
        code = self.error_code(error)
        sqlstate = self.error_sqlstate(error)
        cls = self.error_class(error, code)
        if cls is None and sqlstate:
            cls = self.sqlstate_classes.get(sqlstate[:2])
        unbindable = None if connecting else _UNBINDABLE_VALUES.get(type(error))
        if cls is None and unbindable is not None:
            # A value the driver cannot bind (a lone surrogate, an int beyond 64 bits): bad
            # input, not a lost connection.
            cls = errors.DataError
        if cls is None and (connecting or self.is_disconnect(error)):
            cls = errors.OperationalError
        if cls is None:
            names = {klass.__name__ for klass in type(error).__mro__}
            cls = next((ours for name, ours in _PEP249_NAMES if name in names), None)
        if cls is None:
            cls = errors.OperationalError if isinstance(error, (OSError, ssl.SSLError)) else errors.DatabaseError
        message = self.driver_message(error)
        if cls is errors.DataError and unbindable is not None:
            message += unbindable
        if connecting:
            message = f'cannot connect to {self.name} at {self.where()}: {message}'
            # Drivers often wrap the socket error in a vaguer one ("can't create a connection"):
            # the innermost OSError says why (refused, unknown host, timed out...).
            cause = innermost_os_error(error)
            if cause is not None and cause is not error and str(cause) not in message:
                message += f' ({type(cause).__name__}: {self.driver_message(cause)})'
        retryable = ((code in self.retryable_codes or sqlstate in self.retryable_sqlstates
                      or self.is_disconnect(error)) and code not in self.permanent_codes)
        # Masked here, in the finished message, so that no driver_message can forget it.
        password = self.config.password
        if password:
            message = message.replace(password, '***')
        return cls(message, code=code, sqlstate=sqlstate, retryable=retryable)

    def error_class(self, error: BaseException, code: Any) -> type[errors.DatabaseError] | None:
        """Hook: the class the database's own error code names (None: SQLSTATE, then PEP 249, decide)."""
        return self.error_codes.get(code) if code is not None else None

    def driver_message(self, error: BaseException) -> str:
        """Hook: the driver error's own message (translate_error masks the password in it)."""
        return str(error) or type(error).__name__

    def where(self) -> str:
        """host:port (or the file) this backend connects to, for messages."""
        return f'{self.config.host}:{self.config.port or self.default_port}'


def innermost_os_error(error: BaseException) -> OSError | None:
    """The deepest OSError in an exception's chain of causes, if any."""
    found: OSError | None = None
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError):
            found = current
        current = current.__cause__ or current.__context__
    return found
