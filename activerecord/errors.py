"""The error family of activerecord: PEP 249 names plus the ORM's own."""
from __future__ import annotations

from typing import Any, cast

import pydantic


class ActiveRecordError(Exception):
    """Root of every error this package raises."""


class ConfigurationError(ActiveRecordError):
    """A configuration value is wrong: names the field, the value and what is allowed."""


class MissingDriverError(ConfigurationError, ImportError):
    """A backend's driver module is not installed; the message names the extra to install."""


class DatabaseError(ActiveRecordError):
    """An error reported by the database or its driver (the driver's exception is __cause__).

    `retryable` is true when running the whole transaction again may succeed: a deadlock, a
    serialization failure, a cluster certification conflict, or a connection lost before
    COMMIT was sent (the server then rolled the transaction back). `run_transaction` retries
    only these.
    """

    def __init__(self, message: str, *, code: Any = None, sqlstate: str | None = None,
                 retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.sqlstate = sqlstate
        self.retryable = retryable


class InterfaceError(DatabaseError):
    """The driver interface was misused or failed (closed connection, bad cursor)."""


class IntegrityError(DatabaseError):
    """A constraint was violated: unique, foreign key, not null, check."""


class OperationalError(DatabaseError):
    """The database could not run the statement: connection lost, deadlock, timeout."""


class ProgrammingError(DatabaseError):
    """The SQL is wrong: syntax, unknown table or column, wrong parameter count."""


class DataError(DatabaseError):
    """A value does not fit: out of range, too long, not a valid number."""


class InternalError(DatabaseError):
    """The database reported an internal inconsistency."""


class NotSupportedError(DatabaseError):
    """The backend cannot do what was asked (a feature, an isolation level)."""


class AmbiguousCommitError(OperationalError):
    """The connection was lost while COMMIT was in flight: the transaction may or may not have
    been committed. Never retried automatically; the application must find out."""


class ReadOnlyError(OperationalError):
    """A write was sent where only reads are allowed (a read-only transaction or replica role)."""


class RecordNotFound(ActiveRecordError, LookupError):
    """No row matched: find_one_or_fail found nothing, or save() of a persisted record updated no row."""


class SchemaMismatchError(ActiveRecordError):
    """A model and its table disagree: fields without a column (names the model, table and columns)."""


class MigrationError(ActiveRecordError):
    """A migration could not be applied or reverted (names the revision and the failing statement).

    `revision` is the revision that failed (None when the chain itself is wrong), `statement` the
    statement that failed, and `statements_run` those of that revision which had already run and
    stayed (empty where the migration's transaction was rolled back)."""

    def __init__(self, message: str, *, revision: str | None = None, statement: str | None = None,
                 statements_run: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.revision = revision
        self.statement = statement
        self.statements_run = statements_run


class MultipleRecordsFound(ActiveRecordError, LookupError):
    """query.one() found more than one row."""


class StaleObjectError(ActiveRecordError):
    """An optimistic-locked record was changed by someone else since it was read."""


class PoolTimeout(OperationalError):
    """No connection became free within pool_timeout; `status` is the pool's state then."""

    def __init__(self, message: str, status: dict[str, int]) -> None:
        super().__init__(message)
        self.status = status


class ValidationError(ActiveRecordError, ValueError):
    """A model failed pydantic validation; `errors()` lists the problems as pydantic gives them."""

    def __init__(self, model_name: str, errors: list[dict[str, Any]]) -> None:
        self.model_name = model_name
        self._errors = errors
        lines: list[str] = []
        for error in errors:
            location = '.'.join(str(part) for part in error.get('loc', ())) or '(model)'
            lines.append(f'  {location}: {error.get("msg")} (got {error.get("input")!r:.80})')
        super().__init__(f'{len(errors)} validation error(s) for {model_name}:\n' + '\n'.join(lines))

    def errors(self) -> list[dict[str, Any]]:
        """The validation problems, as pydantic reports them."""
        return self._errors

    @classmethod
    def from_pydantic(cls, model_name: str, error: pydantic.ValidationError) -> 'ValidationError':
        """Wrap a pydantic ValidationError."""
        # pydantic's ErrorDetails TypedDicts are the plain dicts errors() documents
        return cls(model_name, cast('list[dict[str, Any]]', error.errors(include_url=False)))
