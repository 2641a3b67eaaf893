"""The migrator: applies and reverts revisions, keeps their history, one migrator at a time.

How a run goes, on the migrator's own connection (a pool of one, so that a session lock, the
session's settings and the transactions all live on the same connection):

1. The lock first (the dialect's `migration_lock_sql`: PostgreSQL `pg_advisory_lock`, MySQL
   `GET_LOCK`), then `CREATE TABLE IF NOT EXISTS ar_schema_migrations`: two migrators creating
   the history table at once would race (PostgreSQL fails one of them). Where the dialect has no
   session lock (SQLite), each migration's `BEGIN IMMEDIATE` transaction is the lock, and the
   history is read inside it, so a second migrator waits and then sees the work done.
2. One revision at a time: read the history, take the next revision to apply (or revert), run
   its steps, record it (INSERT or DELETE of its history row), commit. Where DDL is
   transactional (SQLite, PostgreSQL) that is one transaction, under `SET LOCAL lock_timeout`:
   a failure rolls the whole revision back. Where it is not (MySQL/MariaDB commit each DDL
   statement) the row is written only after every statement succeeded, and a failure raises
   MigrationError naming the revision, the failed statement and the statements that already ran.
   A step that must run outside a transaction (`CREATE INDEX CONCURRENTLY`) ends the transaction
   before it; the steps after it run in a new one.

`sql()` renders the same run offline through the same code with a writer in place of the
connection, so its text is what `up` sends, reads (the history SELECTs, the lock) left out.
"""
from __future__ import annotations

import datetime
import math
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Literal, Protocol

from ..backend.base import StorageBackend
from ..backend.placeholders import translate
from ..backend.sql_lexer import CODE, segments
from ..backend.registry import backend_for_url
from ..backend.transaction import IsolationLevel
from ..errors import ActiveRecordError, MigrationError, NotSupportedError
from .operations import Operations
from .steps import Step
from .revisions import BASE, Revision, build_chain, index_of, load_revisions

HISTORY_TABLE = 'ar_schema_migrations'
#: the migrator's own pool: one connection, so that the lock, the session settings and every
#: transaction share it, never replaced behind its back (a lost connection fails the run instead
#: of silently dropping the lock)
_OWN_POOL: dict[str, Any] = {'pool_size': 1, 'max_overflow': 0, 'pool_recycle': None, 'pool_pre_ping': False}

Direction = Literal['up', 'down']


@dataclass(frozen=True)
class RevisionStatus:
    """One line of `status()`: a revision, whether it is applied (and when), and for a pending one
    the notes on its steps that rewrite a table or block writes on this database."""
    revision: str
    down_revision: str | None
    applied: bool
    applied_at: datetime.datetime | None = None
    notes: tuple[str, ...] = ()
    #: False for a history row whose file is gone (applied once, no longer in the folder)
    has_file: bool = True


class _Target(Protocol):
    """Where a run's statements go: the database, or the offline script."""

    def run(self, sql: str, params: Any = None) -> None: ...
    def call(self, step: Step) -> None: ...
    def note(self, marks: list[str]) -> None: ...
    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def check(self) -> None: ...


@dataclass
class _Unit:
    """One revision being applied or reverted: its transaction state and the statements it ran."""
    target: _Target
    transactional: bool
    timeout_sql: list[str]
    #: (set, reset) of the lock timeout around a step run outside the transaction, where the
    #: transaction's timeout (SET LOCAL) ended with it
    outside_sql: tuple[list[str], list[str]] = field(default_factory=lambda: ([], []))
    in_transaction: bool = False
    kept: list[str] = field(default_factory=list[str])      # ran and stayed (committed or no transaction)
    pending: list[str] = field(default_factory=list[str])   # ran inside the open transaction
    current: str | None = None
    #: run before BEGIN where the transaction is the migrator's lock (the wait for that lock)
    wait_sql: list[str] = field(default_factory=list[str])

    def open(self) -> None:
        """Start the revision: its transaction (where DDL is transactional) and its lock timeout."""
        self.settings(self.wait_sql)
        if self.transactional:
            self.current = 'BEGIN'
            self.target.begin()
            self.current = None
            self.in_transaction = True
        self.settings(self.timeout_sql)

    def statement(self, sql: str, params: Any = None) -> None:
        """Run one statement and remember it (for the error of a later failure)."""
        self.current = sql
        self.target.run(sql, params)
        (self.pending if self.in_transaction else self.kept).append(sql)
        self.current = None

    def step(self, step: Step) -> None:
        """The sink Operations hands each step to."""
        if step.outside_transaction and self.in_transaction:
            self.commit()   # what came before is kept; the step cannot run inside a transaction
        elif not step.outside_transaction and self.transactional and not self.in_transaction:
            self.open()
        self.target.note(step_marks(step))
        if step.kind == 'python':
            label = self.current = f'run_python({_callable_name(step)})'
            self.target.call(step)
            (self.pending if self.in_transaction else self.kept).append(label)
            self.current = None
            return
        setting, reset = self.outside_sql if step.outside_transaction and not self.in_transaction else ([], [])
        self.settings(setting)
        try:
            self.statement(step.sql, step.params or None)
        except BaseException:
            failed = self.current
            try:
                self.settings(reset)   # a lock timeout left on the session would cut the next lock wait short
            except ActiveRecordError:
                pass   # the connection is gone with its settings; the step's failure is what matters
            self.current = failed
            raise
        self.settings(reset)

    def settings(self, statements: list[str]) -> None:
        """Run session settings (not the revision's own statements: not listed as run)."""
        for statement in statements:
            self.current = statement
            self.target.run(statement)
            self.current = None

    def commit(self) -> None:
        """End the open transaction (running the dialect's constraint check first)."""
        if self.in_transaction:
            self.current = 'the constraint check before COMMIT'
            self.target.check()
            self.current = 'COMMIT'
            self.target.commit()
            self.current = None
            self.in_transaction = False
            self.kept += self.pending
            self.pending = []

    def abandon(self) -> None:
        """After a failure: roll the open transaction back (its statements did not stay)."""
        if self.in_transaction:
            self.in_transaction = False
            self.pending = []
            try:
                self.target.rollback()
            except ActiveRecordError:
                pass   # the connection is gone: the server rolled back; the failure is what matters


def _callable_name(step: Step) -> str:
    return str(getattr(step.fn, '__qualname__', step.sql))


class _Database:
    """The migrator's connection as a _Target."""

    def __init__(self, backend: StorageBackend, level: IsolationLevel | None) -> None:
        self.backend = backend
        self.level = level
        #: the constraint check's rows per table when the transaction began
        self.broken_before: Counter[Any] = Counter()

    def run(self, sql: str, params: Any = None) -> None:
        self.backend.execute(sql, params)

    def _broken(self) -> tuple[Counter[Any], list[dict[str, Any]]]:
        check_sql = self.backend.dialect.migration_check_sql
        rows = [] if check_sql is None else self.backend.fetch_all(check_sql)
        return Counter(next(iter(row.values()), None) for row in rows), rows

    def call(self, step: Step) -> None:
        if step.fn is not None:
            step.fn(self.backend)

    def note(self, marks: list[str]) -> None:
        pass

    def begin(self) -> None:
        self.backend.transaction_manager.begin(self.level)
        # Rows that broke a constraint before the migration (an orphan left by a connection with
        # foreign keys off) are not its doing: only what it adds fails it.
        self.broken_before = self._broken()[0]

    def commit(self) -> None:
        self.backend.transaction_manager.commit()

    def rollback(self) -> None:
        if self.backend.in_transaction:
            self.backend.transaction_manager.rollback()

    def check(self) -> None:
        counts, rows = self._broken()
        added = {table: count - self.broken_before[table] for table, count in counts.items()
                 if count > self.broken_before[table]}
        if added:
            tables = ', '.join(f'{count} in {table!r}' for table, count in added.items())
            example = next(row for row in rows if next(iter(row.values()), None) in added)
            raise MigrationError(f'the migration leaves row(s) breaking a constraint ({tables}; '
                                 f'{self.backend.dialect.migration_check_sql} reports e.g. {example})')


class _Script:
    """The offline script as a _Target: statements are written, nothing runs."""

    def __init__(self, backend: StorageBackend, level: IsolationLevel | None) -> None:
        self.backend = backend
        self.dialect = backend.dialect
        self.features = backend.features
        self.level = level
        self.lines: list[str] = []
        self.notes: list[str] = []   # comments to write before the next statement

    def run(self, sql: str, params: Any = None) -> None:
        if params:
            sql = inline_parameters(self.backend, sql, params)
        if self.notes:
            self.lines.append(f'-- {", ".join(self.notes)}')
            self.notes = []
        self.lines.append(sql + ';')

    def call(self, step: Step) -> None:
        self.notes = []
        self.lines.append(f'-- run_python({_callable_name(step)}): Python code, run only by `up`/`down`')

    def note(self, marks: list[str]) -> None:
        self.notes = marks

    def begin(self) -> None:
        for statement in self.dialect.begin_statements(self.level, False, self.features):
            self.run(statement)

    def commit(self) -> None:
        self.run(self.dialect.commit_sql)

    def rollback(self) -> None:
        pass

    def check(self) -> None:
        pass   # a read: the script says what changes, and the database would check the same


class Migrator:
    """Applies, reverts and reports the revisions of one folder on one database."""

    def __init__(self, url_or_backend: str | StorageBackend, directory: str | Path = 'migrations',
                 lock_timeout: float = 5.0) -> None:
        given: Any = lock_timeout   # untyped callers may pass anything
        if isinstance(given, bool) or not isinstance(given, (int, float)) or not 0 < given < math.inf:
            raise MigrationError(f'lock_timeout: {lock_timeout!r} is not allowed; expected a number of '
                                 'seconds > 0')
        self.directory = Path(directory)
        self.lock_timeout = float(lock_timeout)
        if isinstance(url_or_backend, str):
            self.backend: StorageBackend = backend_for_url(url_or_backend, **_OWN_POOL)
        else:   # (an in-memory SQLite database is reached while the given backend stays open)
            self.backend = url_or_backend.sibling(**_OWN_POOL)
        dialect = self.backend.dialect
        if dialect.migration_lock_sql is None and not dialect.migration_transaction_locks:
            self.backend.close()
            raise NotSupportedError(f'the migrator does not run on {self.backend.name} yet: it has no lock that '
                                    'keeps a second migrator out (dialect.migration_lock_sql)')

    # -- the connection ---------------------------------------------------------------------

    def close(self) -> None:
        """Close the migrator's connection."""
        self.backend.close()

    def __enter__(self) -> 'Migrator':
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # -- revisions and history --------------------------------------------------------------

    def revisions(self) -> list[Revision]:
        """The revision files in chain order (read again on every call: files change)."""
        return build_chain(load_revisions(self.directory))

    def history(self) -> dict[str, datetime.datetime | None]:
        """Applied revision -> when (an empty dict before the history table exists)."""
        if HISTORY_TABLE not in self.backend.schema.tables():
            return {}
        return self._read_history()

    def _read_history(self) -> dict[str, datetime.datetime | None]:
        dialect = self.backend.dialect
        rows = self.backend.query_rows(f'SELECT {dialect.quote("revision")}, {dialect.quote("applied_at")} '
                                       f'FROM {dialect.quote_table(HISTORY_TABLE)}')[1]
        return {str(row[0]): _as_datetime(row[1]) for row in rows}

    # -- public verbs -----------------------------------------------------------------------

    def up(self, to: str | None = None, progress: Callable[[str], None] | None = None) -> list[str]:
        """Apply the pending revisions up to `to` (default: the head); returns those applied
        (`progress(revision)` is called as each one is committed)."""
        chain = self.revisions()
        wanted = chain if to is None else chain[:index_of(chain, to) + 1]
        return self._run('up', wanted, _Database(self.backend, self._level()), progress)

    def down(self, to: str | None = None, steps: int | None = None,
             progress: Callable[[str], None] | None = None) -> list[str]:
        """Revert applied revisions: those after `to` (`'base'`: all of them), or the last `steps`
        (default: the last one); returns those reverted, newest first."""
        chain = self.revisions()
        wanted = self._down_targets(chain, self.history(), to, steps)
        return self._run('down', wanted, _Database(self.backend, self._level()), progress)

    def sql(self, direction: Direction = 'up', to: str | None = None, steps: int | None = None) -> str:
        """The script `up(to)` (or `down(to, steps)`) would run now, without running anything.

        Each step that rewrites a table or blocks writes on this database is marked by a comment
        before it. The history is read to know what is pending; the steps are rendered against
        the schema as it is now (so a step that reads the schema, as SQLite's table rebuild does,
        sees no change made by an earlier pending revision of the same script)."""
        chain = self.revisions()
        applied = self.history()
        if direction == 'up':
            wanted = chain if to is None else chain[:index_of(chain, to) + 1]
            plan = [item for item in wanted if item.revision not in applied]
        elif direction == 'down':
            plan = self._down_targets(chain, applied, to, steps)
        else:
            raise MigrationError(f'direction {direction!r}: expected "up" or "down"')
        self._prepare_session()
        script = _Script(self.backend, self._level())
        for statement in self._session_statements():
            script.run(statement)
        for item in plan:
            script.lines.append(f'-- {direction} {item.revision} ({item.path.name})')
            unit = self._unit(script)
            unit.open()
            try:
                self._render(unit, item, direction, script)
            except ActiveRecordError as error:
                if isinstance(error, MigrationError) and error.revision is not None:
                    raise
                # The steps read the schema as it is now: an earlier revision of this script may
                # not have made what this one reads yet (MySQL's MODIFY restates the live column).
                after = ('' if item is plan[0] else '; it reads the schema as it is now, before the earlier '
                         'revisions of this script: apply them first, or write the script up to them (--to)')
                raise MigrationError(
                    f'revision {item.revision!r} cannot be written offline: {type(error).__name__}: {error}{after}',
                    revision=item.revision) from error
        return '\n'.join(script.lines) + '\n'

    def status(self) -> list[RevisionStatus]:
        """Every revision with whether it is applied; pending ones carry their rewrite/block notes."""
        chain = self.revisions()
        applied = self.history()
        self._prepare_session()
        result: list[RevisionStatus] = []
        for item in chain:
            if item.revision in applied:
                result.append(RevisionStatus(item.revision, item.down_revision, True, applied[item.revision]))
            else:
                result.append(RevisionStatus(item.revision, item.down_revision, False,
                                             notes=tuple(self._notes(item))))
        known = {item.revision for item in chain}
        result += [RevisionStatus(revision, None, True, when, has_file=False)
                   for revision, when in sorted(applied.items()) if revision not in known]
        return result

    # -- the run ----------------------------------------------------------------------------

    def _level(self) -> IsolationLevel | None:
        # Without a session lock the transaction is the lock: SERIALIZABLE is SQLite's BEGIN IMMEDIATE.
        return IsolationLevel.SERIALIZABLE if self.backend.dialect.migration_transaction_locks else None

    def _prepare_session(self) -> None:
        """The session settings a run makes, made before rendering offline: a step may read them
        (SQLite's rebuild switches foreign keys off around itself only where they are on)."""
        for statement in self.backend.dialect.migration_session_sql:
            self.backend.execute(statement)

    def _session_statements(self) -> list[str]:
        dialect = self.backend.dialect
        return [*dialect.migration_session_sql, *dialect.migration_lock_wait_sql, self._create_history_sql()]

    def _create_history_sql(self) -> str:
        dialect = self.backend.dialect
        type_map = dialect.type_map
        assert type_map is not None, 'every SQL dialect has a type map'
        columns = [
            dialect.column_definition('revision', type_map.column_types['str'].format(length=255),
                                      nullable=False, primary_key=True),
            dialect.column_definition('applied_at', type_map.column_types['datetime_naive'], nullable=False),
        ]
        return dialect.create_table_sql(HISTORY_TABLE, columns, ['revision'], if_not_exists=True)

    def _record_sql(self, revision: str, direction: Direction) -> str:
        dialect = self.backend.dialect
        table = dialect.quote_table(HISTORY_TABLE)
        # The id is inlined (revisions.REVISION_ID allows no quote) so that the script and the run
        # send the very same text.
        literal = dialect.string_literal(revision)
        if direction == 'up':
            return (f'INSERT INTO {table} ({dialect.quote("revision")}, {dialect.quote("applied_at")}) '
                    f'VALUES ({literal}, CURRENT_TIMESTAMP)')
        return f'DELETE FROM {table} WHERE {dialect.quote("revision")} = {literal}'

    def _timeout_sql(self) -> list[str]:
        return list(self.backend.dialect.lock_timeout_sql(self.lock_timeout))

    def _unit(self, target: _Target) -> _Unit:
        dialect = self.backend.dialect
        wait = list(dialect.migration_lock_wait_sql) if dialect.migration_transaction_locks else []
        return _Unit(target, self.backend.features.transactional_ddl, self._timeout_sql(),
                     dialect.outside_lock_timeout_sql(self.lock_timeout), wait_sql=wait)

    def _run(self, direction: Direction, wanted: list[Revision], database: _Database,
             progress: Callable[[str], None] | None) -> list[str]:
        done: list[str] = []
        lock = self.backend.dialect.migration_lock_sql
        try:
            if lock is not None:
                acquire = lock[0]
                answer = self.backend.fetch_value(acquire)
                if answer != 1:
                    lock = None   # not held: nothing to release
                    raise MigrationError(f'could not take the migration lock ({acquire} answered {answer!r}); '
                                         'another migrator has held it all that time')
            self._prepare_session()
            # (Without a session lock this runs alone all the same: SQLite takes its write lock,
            # waiting for another migrator's transaction as BEGIN IMMEDIATE does.)
            for statement in self.backend.dialect.migration_lock_wait_sql:
                self.backend.execute(statement)
            self.backend.execute(self._create_history_sql())
            more = True
            while more:
                revision, more = self._next(direction, wanted, database)
                if revision is None:
                    break
                done.append(revision)
                if progress is not None:
                    progress(revision)
            return done
        finally:
            if lock is not None:
                self._release(lock[1])

    def _release(self, release_sql: str) -> None:
        try:
            self.backend.fetch_all(release_sql)
        except ActiveRecordError:
            pass   # the connection is gone: the server released the session's lock with it

    def _next(self, direction: Direction, wanted: list[Revision],
              database: _Database) -> tuple[str | None, bool]:
        """Apply (or revert) the next revision of `wanted` not done yet: (its id, or None when none
        is left; whether more are left, as the history read under the lock said)."""
        item: Revision | None = None
        unit: _Unit | None = None
        try:
            if self.backend.features.transactional_ddl:
                # The history is read inside the revision's transaction: without a session lock,
                # that transaction is what keeps a second migrator out.
                unit = self._unit(database)
                unit.open()
            applied = self._read_history()
            item = _first_to_do(direction, wanted, applied)
            if item is None:
                if unit is not None:
                    unit.commit()
                return None, False
            if unit is None:
                unit = self._unit(database)
                unit.open()
            self._render(unit, item, direction, database)
            # Known now, so that the run ends without one more (empty) transaction to find out.
            more = _first_to_do(direction, [other for other in wanted if other is not item], applied) is not None
            return item.revision, more
        except MigrationError as error:
            if unit is not None:
                unit.abandon()
            if error.revision is not None or item is None:
                raise
            raise self._failure(unit, item, direction, error) from error
        except Exception as error:
            if unit is not None:
                unit.abandon()
            if item is None:
                # taking the lock (BEGIN IMMEDIATE) or reading the history failed: no revision ran
                at = (unit.current if unit is not None else None) or 'reading the migration history'
                raise MigrationError(f'{direction}: could not start the next migration at: {at}\n'
                                     f'  {type(error).__name__}: {error}\nnothing of it ran',
                                     statement=at) from error
            raise self._failure(unit, item, direction, error) from error

    def _render(self, unit: _Unit, item: Revision, direction: Direction, target: _Target) -> None:
        """Run (or write) one revision, its unit opened: its steps, its history row, the commit."""
        operations = Operations(self.backend, unit.step)
        (item.up if direction == 'up' else item.down)(operations)
        if unit.transactional and not unit.in_transaction:
            unit.open()
        if isinstance(target, _Script) and direction == 'up':
            target.lines.append(f'-- record {item.revision} as applied')
        unit.statement(self._record_sql(item.revision, direction))
        unit.commit()

    def _failure(self, unit: _Unit | None, item: Revision, direction: Direction,
                 error: BaseException) -> MigrationError:
        failed = (unit.current if unit is not None else None) or '(before its first statement)'
        kept = tuple(unit.kept) if unit is not None else ()
        verb = 'applying' if direction == 'up' else 'reverting'
        if kept:
            listed = '\n'.join(f'  {statement}' for statement in kept)
            stayed = (f'; these statements of it had already run and were not undone (DDL here is '
                      f'not transactional, or they ran before a step outside the transaction): fix the '
                      f'database or the revision, then run again:\n{listed}')
        else:
            stayed = '; nothing of it stayed (rolled back)'
        history = 'it is still recorded as applied' if direction == 'down' else 'it is not recorded as applied'
        return MigrationError(
            f'{verb} revision {item.revision!r} ({item.path.name}) failed at: {failed}\n'
            f'  {type(error).__name__}: {error}\n{history}{stayed}',
            revision=item.revision, statement=failed, statements_run=kept)

    def _down_targets(self, chain: list[Revision], applied: dict[str, Any], to: str | None,
                      steps: int | None) -> list[Revision]:
        if to is not None and steps is not None:
            raise MigrationError('down: give --to or --steps, not both')
        done = [item for item in chain if item.revision in applied]
        if to is not None:
            keep = -1 if to == BASE else index_of(chain, to)
            return [item for item in reversed(done) if chain.index(item) > keep]
        count = 1 if steps is None else steps
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:   # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
            raise MigrationError(f'down: steps={count!r}; expected a whole number >= 1')
        return list(reversed(done))[:count]

    def _notes(self, item: Revision) -> list[str]:
        """The steps of a pending revision that rewrite a table or block writes on this database."""
        steps: list[Step] = []
        try:
            item.up(Operations(self.backend, steps.append))
        except Exception as error:   # a revision that cannot be rendered now is reported, not fatal
            return [f'cannot be rendered now ({type(error).__name__}: {error})']
        notes: list[str] = []
        for step in steps:
            marks = step_marks(step)
            if marks:
                text = ' '.join(step.sql.split()) if step.kind != 'python' else f'run_python({_callable_name(step)})'
                notes.append(f'{" and ".join(marks)}: {text}')
        return notes


#: a placeholder of the 'named' paramstyle in code (`::p1` is a cast to a type, not one)
_NAMED_PLACEHOLDER = re.compile(r'(?<![:\w]):p([1-9][0-9]*)\b')


def inline_parameters(backend: StorageBackend, sql: str, params: Any) -> str:
    """`sql` with each `?` placeholder replaced by its parameter as an SQL literal (the dialect's
    literal_sql), for the offline script: a DBA runs it as it is, with nothing to bind.

    The placeholders are found as the backend finds them (string literals, quoted identifiers,
    comments and PostgreSQL's `?` operators left alone); a value with no literal form here (bytes,
    a dict) is refused, naming it, rather than written wrong."""
    values = list(params)
    dialect = backend.dialect
    rules = dialect.lexical_rules
    if any(_NAMED_PLACEHOLDER.search(text) for kind, text in segments(sql, rules) if kind == CODE):
        raise MigrationError(f'cannot write this statement offline with its parameters inlined: its code '
                             f'already has a `:pN` name, which would be read as a parameter: {sql[:200]}')
    translated = translate(sql, 'named', dialect.features.question_mark_operators, rules)
    if translated.placeholder_count != len(values):
        raise MigrationError(f'the statement has {translated.placeholder_count} `?` placeholder(s) but '
                             f'{len(values)} parameter(s) were given: {sql[:200]}')
    literals: list[str] = []
    # adapted as `up` binds them (UUID, Enum, dict -> what the driver is given), so the script
    # stores the same values
    for number, value in enumerate(backend.adapt_params(values), 1):
        if isinstance(value, uuid.UUID):
            value = str(value)   # a quoted literal: PostgreSQL reads it as the uuid column's type
        try:
            literals.append(dialect.literal_sql(value))
        except ActiveRecordError as error:
            raise MigrationError(f'parameter {number} ({type(value).__name__} {value!r}) of {sql[:200]!r} has no '
                                 f'SQL literal form on {backend.name} for the offline script ({error}); '
                                 'pass it as a str or number, or apply this revision with `up`') from error
    out: list[str] = []
    for kind, text in segments(translated.sql, rules):
        out.append(_NAMED_PLACEHOLDER.sub(lambda match: literals[int(match.group(1)) - 1], text)
                   if kind == CODE else text)
    return ''.join(out)


def step_marks(step: Step) -> list[str]:
    """'rewrites the table' / 'blocks writes' for a step, as status and sql mark it."""
    marks: list[str] = []
    if step.rewrites_table:
        marks.append('rewrites the table')
    if step.blocks_writes:
        marks.append('blocks writes')
    return marks


def _first_to_do(direction: Direction, wanted: list[Revision], applied: dict[str, Any]) -> Revision | None:
    for item in wanted:
        if (item.revision not in applied) == (direction == 'up'):
            return item
    return None


def _as_datetime(value: Any) -> datetime.datetime | None:
    if value is None or isinstance(value, datetime.datetime):
        return value
    try:
        return datetime.datetime.fromisoformat(str(value))
    except ValueError:
        return None
