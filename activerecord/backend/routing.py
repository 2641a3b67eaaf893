"""Primary/replica routing: reads outside transactions to healthy replicas, the rest to the primary.

A backend with `router` set hands every statement to `ReplicaRouter.statement`, which classifies
it once per SQL text (`is_read`) and runs it on the primary or on a replica backend (each with a
pool of its own, router None). Read-your-writes: right after a write (an autocommit statement, or
COMMIT of a transaction) the primary's replication position is read on the same connection and
kept in a per task/thread holder; that caller's reads then go only to a replica whose replayed
position contains it (replication.py compares them), else to the primary. With `wait` > 0 a read
whose write a replica has not replayed yet waits for it there (one wait per read, shared by the
replicas it tries) before falling back to the primary: an asynchronous replica applies a commit
a few milliseconds after it returns, so without waiting every read-after-write hits the primary.

Replica health (reachable, lag within `max_lag`, replayed position) is checked by the reader that
finds it older than `check_interval`, one checker per replica at a time, on a connection of its own
with short timeouts; the others use the last answer. A replica that receives nothing from its
primary counts the time since as lag. A routed read that loses its replica connection (connect
refused, disconnect) runs again on the next replica or the primary: a read outside a transaction
has no side effects, so this is the one place a statement is sent twice (never for a stream).
Two SQL errors send it once more, to the primary: a replica's read-only session refusing a
function that writes (then it is the caller's write), and a hot standby cancelling it to go on
replaying (a recovery conflict).
"""
from __future__ import annotations

import itertools
import re
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, ClassVar, Generator, Iterator, Protocol, Sequence, TypeVar

from .. import errors
from ..errors import ConfigurationError, ProgrammingError
from .dialect import Dialect
from .pool import ConnectionPool
from .replication import ReplicationPositions
from .sql_lexer import CODE, IDENTIFIER, MARKER, LexicalRules, segments
from .transaction import TransactionManager, current_owner
from .typing import ConnectionConfig

T = TypeVar('T')


class RoutedBackend(Protocol):
    """What the router needs of a backend (a base.StorageBackend is one; base.py imports this
    module, so the router names it by its shape)."""

    config: ConnectionConfig
    dialect: Dialect
    pool: ConnectionPool
    transaction_manager: TransactionManager
    router: Any
    session_sql: tuple[str, ...]

    name: ClassVar[str]
    default_port: ClassVar[int | None]
    option_specs: ClassVar[dict[str, Any]]
    def run_statement(self, sql: str, params: Any, read: Callable[[Any], T], bind: Callable[[Any], Any] | None,
                      many: bool, after: Callable[[Any], None]) -> T: ...
    def run_internal(self, raw: Any, sql: str) -> list[Any]: ...
    def fetch_one(self, sql: str, params: Sequence[Any] | None = None) -> dict[str, Any] | None: ...
    def fetch_value(self, sql: str, params: Sequence[Any] | None = None) -> Any: ...
    def server_version(self) -> tuple[int, ...]: ...
    def iter_rows(self, sql: str, params: Sequence[Any] | None = None,
                  batch_size: int = 1000) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]: ...
    def is_disconnect(self, error: BaseException) -> bool: ...
    def sibling(self, **config_changes: Any) -> Any: ...
    def close(self) -> None: ...

ROLES = ('reading', 'writing')

#: statements that may start a read (anything else is a write). Not SHOW: what it shows (session
#: settings, server and replication state) is the primary's, and it costs the primary nothing.
_READ_STARTS = frozenset({'select', 'with', 'values', 'table', 'explain'})
#: words that make a statement a write wherever they appear in its code (a read's CTE or
#: EXPLAIN can hold no other statement)
_WRITE_WORDS = frozenset({'insert', 'update', 'delete', 'merge', 'into'})
#: more words that make an EXPLAIN a write: EXPLAIN ANALYZE runs CREATE TABLE AS, REFRESH
#: MATERIALIZED VIEW, EXECUTE of a prepared statement, DECLARE
_EXPLAIN_WRITE_WORDS = frozenset({'create', 'refresh', 'execute', 'declare', 'alter', 'drop', 'truncate',
                                  'grant', 'revoke', 'copy', 'call', 'do'})
#: functions with side effects (sequences, locks, notifications, session settings, a new
#: transaction id, server control) or that describe the session's or the primary's own state
#: (currval, last_insert_id, pg_is_in_recovery, lock holders, replication waits)
_SIDE_EFFECT_FUNCTIONS = frozenset({
    'nextval', 'setval', 'lastval', 'currval', 'get_lock', 'release_lock', 'release_all_locks',
    'is_free_lock', 'is_used_lock', 'last_insert_id', 'pg_notify', 'set_config', 'txid_current',
    'txid_current_if_assigned', 'pg_cancel_backend', 'pg_terminate_backend', 'pg_reload_conf',
    'pg_rotate_logfile', 'pg_is_in_recovery', 'pg_switch_wal', 'pg_promote', 'pg_backend_pid',
    'master_pos_wait', 'source_pos_wait', 'master_gtid_wait', 'wait_for_executed_gtid_set'})
#: pg_advisory_lock..., pg_try_advisory_lock...; pg_current_wal_lsn(), pg_current_xact_id()
#: (a standby has none); pg_stat_reset...; pg_create_restore_point(), replication slots,
#: pg_wal_replay_pause() (a standby's replay is no reader's to stop); dblink_exec()
_SIDE_EFFECT_PREFIXES = ('pg_advisory', 'pg_try_advisory', 'pg_current_', 'pg_stat_reset', 'pg_create_',
                         'pg_drop_', 'pg_replication_', 'pg_wal_replay_', 'dblink')
#: prefixes that count only where called (`name(`), as common column names start with them:
#: large objects lo_import(), lo_export(), lo_create(), lo_unlink(), lo_put(), lo_from_bytea()...
_CALLED_PREFIXES = ('lo_',)
#: word pairs that make a write: `FOR UPDATE`, `FOR SHARE`, `FOR NO KEY UPDATE`, `FOR KEY SHARE`,
#: `LOCK IN SHARE MODE`, and MariaDB's sequences `NEXT VALUE FOR s`, `PREVIOUS VALUE FOR s`
_WRITE_PAIRS = {'for': frozenset({'update', 'share', 'no', 'key'}), 'lock': frozenset({'in'}),
                'next': frozenset({'value'}), 'previous': frozenset({'value'})}
_WORD = re.compile(r'([a-z_][a-z0-9_$]*)(\s*\()?')
#: a MariaDB/MySQL system variable: `@@` and its name with nothing between (PostgreSQL's text
#: search operator `tsv @@ query` is written apart; written together it costs a primary read)
_SYSTEM_VARIABLE = re.compile(r'@@[a-z_]')
#: stands in the code for a quoted identifier, so that words on either side stay apart
_QUOTED = '\x00'
#: SQL texts classified per router before the cache starts over
_CACHE_LIMIT = 4096
#: first and longest sleep (seconds) between replayed-position polls on a database without a
#: server-side wait: a replica usually applies within a few ms, so start short
_POLL_FIRST = 0.001
_POLL_LONGEST = 0.01
#: longest wait (seconds) for a free connection in a replica's pool before trying elsewhere
REPLICA_CHECKOUT_WAIT = 0.1
#: longest seconds a health check waits for a replica to connect or answer (its connect_timeout
#: when shorter): a check runs in a reader's path, and status() runs one per replica
CHECK_TIMEOUT = 2.0


def _side_effects(name: str, called: bool) -> bool:
    return (name in _SIDE_EFFECT_FUNCTIONS or name.startswith(_SIDE_EFFECT_PREFIXES)
            or (called and name.startswith(_CALLED_PREFIXES)))


def classify(sql: str, rules: LexicalRules) -> bool:
    """Whether `sql` only reads (conservative: a doubtful statement is a write, which only costs
    a read on the primary). Literals and comments are not looked at; quoted identifiers only
    as names of called functions (`"nextval"(...)`, `pg_catalog."nextval"(...)`), case-blind."""
    pieces: list[str] = []
    quoted: list[str] = []
    try:
        for kind, text in segments(sql, rules):
            if kind == CODE or kind == MARKER:
                pieces.append(text)
            elif kind == IDENTIFIER:
                # Case-blind: PostgreSQL's "NextVal" is another function than nextval, but
                # sending a read to the primary is the safe side of a doubt.
                quoted.append(text[1:-1].lower())
                pieces.append(_QUOTED)
    except ProgrammingError:
        return False   # an unterminated literal: the server will refuse it wherever it goes
    code = ' '.join(pieces).lower()
    if _SYSTEM_VARIABLE.search(code):
        return False   # @@read_only, @@global.gtid_executed: the primary's values
    found = _WORD.findall(code)
    if not found or found[0][0] not in _READ_STARTS:
        return False
    write_words = _WRITE_WORDS if found[0][0] != 'explain' else _WRITE_WORDS | _EXPLAIN_WRITE_WORDS
    words = [word for word, _ in found]
    for index, (word, call) in enumerate(found):
        if word in write_words or _side_effects(word, bool(call)):
            return False
        following = _WRITE_PAIRS.get(word)
        if following is not None and index + 1 < len(words) and words[index + 1] in following:
            return False
    if quoted:
        calls = re.findall(_QUOTED + r'(\s*\()?', code)
        # Only called: a quoted name elsewhere is a column or table (one named "currval", say).
        if any(call and _side_effects(name, True) for name, call in zip(quoted, calls)):
            return False
    return True


class WriteMark:
    """The replication position of a task's or thread's last write (mutable: a worker thread
    running the task's async call records into the task's own holder)."""

    __slots__ = ('owner', 'position', 'unknown', 'parent', 'awaited', 'awaited_unknown')

    def __init__(self, owner: tuple[int, Any], position: str | None, unknown: bool,
                 parent: WriteMark | None = None) -> None:
        self.owner = owner
        self.position = position
        #: a write whose position could not be read: reads go to the primary until the next one
        self.unknown = unknown
        #: the mark this one was inherited from (the task or thread that started this one): what
        #: this caller writes counts there too, since the parent may await it and read
        self.parent = parent
        #: the writes of the tasks and threads started from this one (and theirs): counted only
        #: by the owner's own reads, not by other children that still read through this mark
        self.awaited: str | None = None
        self.awaited_unknown = False

    def needs(self, spec: Any) -> tuple[str | None, bool]:
        """(position the owner's reads need, whether one of its writes has no known position)."""
        if (self.awaited is None and not self.awaited_unknown) or self.owner != current_owner():
            return self.position, self.unknown
        if self.awaited is None or self.position is None:
            return self.position or self.awaited, self.unknown or self.awaited_unknown
        return spec.merged(self.position, self.awaited), self.unknown or self.awaited_unknown


class ReplicaState:
    """One replica backend and what its last health check found."""

    def __init__(self, backend: RoutedBackend) -> None:
        self.backend = backend
        #: a pool of one connection with short connect and read timeouts for health checks, so
        #: that a frozen replica makes a check fail after `check_timeout`, not hang (made on use)
        self.checker: RoutedBackend | None = None
        self.check_timeout = min(backend.config.connect_timeout, CHECK_TIMEOUT)
        #: since when (monotonic) checks have found the replica receiving nothing from its primary
        self.detached_since: float | None = None
        self.check_lock = threading.Lock()
        self.count_lock = threading.Lock()
        self.usable = False
        self.reachable = False
        self.lag: float | None = None
        self.replayed: str | None = None
        self.checked_at = float('-inf')
        #: statements this replica served, and position queries sent for read-your-writes
        self.reads = 0
        self.position_checks = 0
        #: reads that waited here for their writer's position (replica_wait), and those of them
        #: that gave up at the deadline
        self.waits = 0
        self.wait_timeouts = 0
        #: after a wait ran out, readers only look at the position here (no waiting) until then
        self.wait_again_at = float('-inf')

    def where(self) -> tuple[str, int | None]:
        """(host, port) of the replica."""
        host, port = self.backend.config.hosts[0]
        return host, port or self.backend.default_port

    def health_backend(self) -> RoutedBackend:
        """The health checks' backend (made on first use, under check_lock)."""
        checker = self.checker
        if checker is None:
            backend = self.backend
            options = dict(backend.config.options)
            if 'read_timeout' in backend.option_specs:
                options['read_timeout'] = self.check_timeout
            checker = self.checker = backend.sibling(pool_size=1, max_overflow=0, connect_timeout=self.check_timeout,
                                                     pool_timeout=self.check_timeout, options=options)
        return checker


class ReplicaRouter:
    """Chooses the backend (primary or a replica) for each statement of one primary backend."""

    def __init__(self, primary: RoutedBackend, replicas: Sequence[RoutedBackend] = (),
                 max_lag: float = 5.0, check_interval: float = 1.0, wait: float = 0.0) -> None:
        self.primary = primary
        for replica in replicas:
            spec = replica.dialect.replication
            if spec is not None:
                replica.session_sql = spec.read_only_session_sql
            # A reader that finds a replica's pool exhausted goes on to the next replica or the
            # primary rather than wait the whole pool_timeout there.
            replica.pool.timeout = min(replica.pool.timeout, REPLICA_CHECKOUT_WAIT)
        self.replicas = [ReplicaState(replica) for replica in replicas]
        self.max_lag = max_lag
        self.check_interval = check_interval
        #: seconds a read may wait for a replica to replay its writer's last write (0: never)
        self.wait = wait
        self._turns = itertools.count()
        self._classified: dict[str, bool] = {}
        self._role: ContextVar[str | None] = ContextVar(f'activerecord_role_{id(self):x}', default=None)
        self._mark: ContextVar[WriteMark | None] = ContextVar(f'activerecord_written_{id(self):x}', default=None)
        self._primary_lock = threading.Lock()
        self._chain_lock = threading.Lock()
        #: reads the router sent to the primary (no replica fitted, or role writing)
        self.primary_reads = 0

    # -- roles --------------------------------------------------------------------------

    @contextmanager
    def connected_to(self, role: str) -> Generator[None, None, None]:
        """`with router.connected_to(role='reading'):` this task's or thread's statements in that role."""
        if role not in ROLES:
            raise ConfigurationError(f'connected_to(role={role!r}): expected one of {", ".join(ROLES)}')
        token = self._role.set(role)
        try:
            yield
        finally:
            self._role.reset(token)

    @property
    def role(self) -> str | None:
        """The role this task or thread is connected to (None: routed automatically)."""
        return self._role.get()

    def is_read(self, sql: str) -> bool:
        """Whether `sql` only reads (cached by SQL text)."""
        known = self._classified.get(sql)
        if known is None:
            known = classify(sql, self.primary.dialect.lexical_rules)
            if len(self._classified) >= _CACHE_LIMIT:
                self._classified.clear()
            self._classified[sql] = known
        return known

    # -- the statement path ---------------------------------------------------------------

    def statement(self, sql: str, params: Any, read: Callable[[Any], T],
                  bind: Callable[[Any], Any] | None, many: bool) -> T:
        """Run one statement where it belongs; returns what `read(cursor)` returned."""
        primary = self.primary
        role = self._role.get()
        reads = not many and self.is_read(sql)
        if not reads:
            if role == 'reading':
                raise errors.ReadOnlyError(f'a write under connected_to(role="reading"): {sql[:200]}')
            if not self.replicas or primary.transaction_manager.is_active:
                return primary.run_statement(sql, params, read, bind, many, _stay)
            return primary.run_statement(sql, params, read, bind, many, self.record_position)
        if role == 'writing' or not self.replicas or primary.transaction_manager.is_active:
            return self._on_primary(sql, params, read, bind)
        needed = None
        if role is None:
            mark = self._mark.get()
            if mark is not None:
                needed, doubt = mark.needs(primary.dialect.replication)
                if doubt:
                    return self._on_primary(sql, params, read, bind)
            else:
                self._holder()   # once: tasks and threads this caller starts later link to it
        for replica in self._candidates(needed):
            try:
                result = replica.backend.run_statement(sql, params, read, bind, False, _stay)
            except errors.PoolTimeout:
                continue   # busy, not down: the next replica or the primary
            except errors.ReadOnlyError:
                if role == 'reading':
                    raise
                # The read called a function that writes and the replica's read-only session
                # refused it, so nothing happened there: it runs on the primary, as a write.
                return primary.run_statement(sql, params, read, bind, False, self.record_position)
            except errors.OperationalError as error:
                if error.sqlstate is not None and error.sqlstate in self._spec(replica).conflict_sqlstates:
                    # Cancelled to let replay go on (nothing changed): once more, on the primary.
                    return self._on_primary(sql, params, read, bind)
                if not self._connection_lost(replica, error):
                    raise
                self.mark_down(replica)
                continue
            with replica.count_lock:
                replica.reads += 1
            return result
        return self._on_primary(sql, params, read, bind)

    def _on_primary(self, sql: str, params: Any, read: Callable[[Any], T],
                    bind: Callable[[Any], Any] | None) -> T:
        with self._primary_lock:
            self.primary_reads += 1
        return self.primary.run_statement(sql, params, read, bind, False, _stay)

    def stream_backend(self, sql: str) -> RoutedBackend:
        """The backend a stream (iter_rows) reads from; a streamed write under role reading raises.
        A streamed write's position is not read (its cursor holds the connection): the caller's
        reads go to the primary until its next recorded write."""
        role = self._role.get()
        if not self.is_read(sql):
            if role == 'reading':
                raise errors.ReadOnlyError(f'a write under connected_to(role="reading"): {sql[:200]}')
            if self.replicas and not self.primary.transaction_manager.is_active:
                self._noted(self._holder(), None)
            return self.primary
        if role == 'writing' or not self.replicas or self.primary.transaction_manager.is_active:
            return self.primary
        mark = self._mark.get() if role is None else None
        needed, doubt = (None, False) if mark is None else mark.needs(self.primary.dialect.replication)
        if doubt:
            return self.primary
        for replica in self._candidates(needed):
            status = replica.backend.pool.status()
            # A stream is not moved once chosen: skip a replica whose pool has nothing free now.
            if status['idle'] or status['open'] < status['size'] + replica.backend.pool.max_overflow:
                return replica.backend
        return self.primary

    # -- read-your-writes -----------------------------------------------------------------

    def _holder(self) -> WriteMark:
        """This task's or thread's write mark (a child task or a thread given a copy of the
        context starts from its parent's, linked to it)."""
        owner = current_owner()
        mark = self._mark.get()
        if mark is None or mark.owner != owner:
            mark = WriteMark(owner, None if mark is None else mark.position, mark is not None and mark.unknown,
                             mark)
            self._mark.set(mark)
        return mark

    def _noted(self, mark: WriteMark, position: str | None) -> None:
        """Record a write at `position` (None: not known) in `mark` and every mark up its chain:
        a parent that awaits its child then reads what the child wrote (a parent that does not
        await it only becomes more cautious). Plain executor threads carry no context: no chain."""
        spec = self.primary.dialect.replication
        if position is None or spec is None:   # no spec: record_position read no position
            mark.unknown = True
        else:
            mark.position = position if mark.position is None else spec.merged(mark.position, position)
            # a later write on the one primary comes after every earlier write of its children
            mark.unknown = mark.awaited_unknown = False
        with self._chain_lock:   # children in threads may update one parent at once
            parent = mark.parent
            while parent is not None:
                if position is None or spec is None:
                    parent.awaited_unknown = True
                else:
                    parent.awaited = position if parent.awaited is None else spec.merged(parent.awaited, position)
                parent = parent.parent

    def prepare_task(self) -> None:
        """Before a task's context is copied for a worker thread: give the task its holder, so
        that what the thread records is the task's."""
        if self.replicas:
            self._holder()

    def record_position(self, pooled: Any) -> None:
        """After a write on `pooled` (a PooledConnection): keep the primary's position as this
        caller's last write. Failing to read it sends the caller's reads to the primary."""
        mark = self._holder()
        spec = self.primary.dialect.replication
        try:
            if spec is None:
                raise errors.NotSupportedError('no replication positions')
            rows = self.primary.run_internal(pooled.raw, spec.written_sql)
            position = None if not rows or rows[0][0] is None else str(rows[0][0])
        except Exception:
            self.primary.pool.invalidate(pooled)   # its state after a failed query is not known
            self._noted(mark, None)
            return
        if not position:
            return   # the write logged nothing (MariaDB: an UPDATE that changed no row): nothing to wait for
        self._noted(mark, position)

    def after_commit(self, pooled: Any) -> None:
        """After COMMIT of a transaction that could write: record its position."""
        if self.replicas and not pooled.read_only:
            self.record_position(pooled)

    @property
    def last_written(self) -> str | None:
        """The replication position of this task's or thread's last write (None: none yet)."""
        mark = self._mark.get()
        return None if mark is None else mark.position

    # -- replica health -------------------------------------------------------------------

    def _candidates(self, needed: str | None) -> Iterator[ReplicaState]:
        """Usable replicas (having replayed `needed`, waited for until `wait` has passed), round
        robin from the next turn."""
        count = len(self.replicas)
        start = next(self._turns)
        deadline = time.monotonic() + self.wait
        for offset in range(count):
            replica = self.replicas[(start + offset) % count]
            if self._fits(replica, needed, deadline):
                yield replica

    def _fits(self, replica: ReplicaState, needed: str | None, deadline: float) -> bool:
        if time.monotonic() - replica.checked_at >= self.check_interval and replica.check_lock.acquire(False):
            try:
                if time.monotonic() - replica.checked_at >= self.check_interval:
                    self.check(replica)
            finally:
                replica.check_lock.release()
        if not replica.usable:
            return False
        if needed is None:
            return True
        spec = self._spec(replica)
        if replica.replayed is not None and spec.reached(replica.replayed, needed):
            return True
        # The cached position is older than the caller's write: ask the replica now (waiting
        # for it until the deadline).
        try:
            with replica.count_lock:
                replica.position_checks += 1
            now = time.monotonic()
            if now < replica.wait_again_at:
                deadline = now
            if spec.wait_sql is not None and deadline > now:
                return self._wait_on_server(replica, spec, needed, deadline)
            return self._poll(replica, spec, needed, deadline)
        except errors.PoolTimeout:
            return False   # busy, not down
        except errors.DatabaseError:
            self.mark_down(replica)
            return False

    def _wait_on_server(self, replica: ReplicaState, spec: ReplicationPositions, needed: str,
                        deadline: float) -> bool:
        """One round trip that returns once the replica has replayed `needed` or the deadline passed."""
        assert spec.wait_sql is not None
        seconds = round(max(deadline - time.monotonic(), 0.001), 3)
        outcome = replica.backend.fetch_value(spec.wait_sql, (needed, seconds))
        reached = outcome is not None and int(outcome) == spec.wait_reached
        self._count_wait(replica, reached)
        return reached

    def _poll(self, replica: ReplicaState, spec: ReplicationPositions, needed: str, deadline: float) -> bool:
        """Read the replica's replayed position until it contains `needed` or the deadline passed."""
        delay = _POLL_FIRST
        waited = False
        while True:
            replayed = replica.backend.fetch_value(spec.replayed_sql)
            if replayed is None:
                return False   # not replaying at all (promoted, or replication not set up)
            replica.replayed = str(replayed)
            if spec.reached(replica.replayed, needed):
                if waited:
                    self._count_wait(replica, True)
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                if waited:
                    self._count_wait(replica, False)
                return False
            waited = True
            time.sleep(min(delay, left))
            delay = min(delay * 2, _POLL_LONGEST)

    def _count_wait(self, replica: ReplicaState, reached: bool) -> None:
        with replica.count_lock:
            replica.waits += 1
            if not reached:
                replica.wait_timeouts += 1
        if not reached:
            # A replica that lets a wait run out has stopped applying or lags more than the wait:
            # waiting there again soon would most likely run out too, so readers only look at
            # its position for one check interval, and the next reader checks its health (a
            # stopped MariaDB/MySQL applier has no lag figure, so it is skipped until it runs).
            replica.wait_again_at = time.monotonic() + self.check_interval
            replica.checked_at = float('-inf')

    def _spec(self, replica: ReplicaState) -> ReplicationPositions:
        # the checker connected first, so its dialect knows the server (MySQL or MariaDB)
        checker = replica.checker
        spec = ((None if checker is None else checker.dialect.replication) or replica.backend.dialect.replication
                or self.primary.dialect.replication)
        assert spec is not None, 'configure() refuses replicas where the dialect has no positions'
        return spec

    def check(self, replica: ReplicaState) -> None:
        """Ask the replica for its lag and replayed position now."""
        try:
            checker = replica.health_backend()
            checker.server_version()   # connected once, the dialect knows its server (MySQL or MariaDB)
            spec = self._spec(replica)
            row = checker.fetch_one(spec.lag_sql)
            replayed = checker.fetch_value(spec.replayed_sql)
        except errors.DatabaseError:
            self.mark_down(replica)
            return
        lag: Any = None
        if row is not None:
            lag = next(iter(row.values())) if spec.lag_column is None else row.get(spec.lag_column)
        now = time.monotonic()
        if row is None or spec.detached is None or not spec.detached(row):
            replica.detached_since = None
        elif lag is not None:
            # Receiving nothing, a replica reports no lag while it falls behind: count the time
            # since a check first saw it so, and skip it once that exceeds max_lag.
            if replica.detached_since is None:
                replica.detached_since = now
            lag = max(float(lag), now - replica.detached_since)
        replica.reachable = True
        replica.lag = None if lag is None else float(lag)
        replica.replayed = None if replayed is None else str(replayed)
        replica.usable = replica.lag is not None and replica.lag <= self.max_lag
        replica.checked_at = time.monotonic()

    def mark_down(self, replica: ReplicaState) -> None:
        """Skip a replica until its next health check (its idle connections are closed: after a
        restart they would all be dead)."""
        replica.usable = replica.reachable = False
        replica.lag = None
        replica.checked_at = time.monotonic()
        replica.backend.pool.dispose_idle()
        if replica.checker is not None:
            replica.checker.pool.dispose_idle()

    def _connection_lost(self, replica: ReplicaState, error: errors.OperationalError) -> bool:
        """Whether a failed read lost its connection (so it never reached the server's SQL)."""
        cause = error.__cause__
        if str(error).startswith(f'cannot connect to {replica.backend.name}'):
            return True
        return cause is not None and replica.backend.is_disconnect(cause)

    # -- reporting ------------------------------------------------------------------------

    def replica_status(self) -> list[dict[str, Any]]:
        """status() entries of the replicas, each checked now."""
        entries: list[dict[str, Any]] = []
        for replica in self.replicas:
            # A check takes at most about check_timeout per query: a lock held longer than that
            # belongs to a check stuck on the replica: it does not answer, so it is down (the
            # contract's three roles), reported at once rather than waited for.
            if replica.check_lock.acquire(timeout=replica.check_timeout):
                try:
                    self.check(replica)
                finally:
                    replica.check_lock.release()
                role, lag = ('replica' if replica.reachable else 'down'), replica.lag
            else:
                role, lag = 'down', None
            host, port = replica.where()
            entries.append({'host': host, 'port': port, 'role': role, 'lag': lag,
                            'pool': replica.backend.pool.status()})
        return entries

    def wait_counts(self) -> dict[str, int]:
        """{'waits', 'timeouts'} summed over the replicas: reads that waited for their writer's
        position (replica_wait), and those that gave up and went on to another replica or the primary."""
        return {'waits': sum(replica.waits for replica in self.replicas),
                'timeouts': sum(replica.wait_timeouts for replica in self.replicas)}

    def reads_served(self) -> dict[str, int]:
        """Reads per host ('host:port' of each replica, and 'primary') since the router began."""
        served = {f'{host}:{port}': replica.reads for replica in self.replicas
                  for host, port in [replica.where()]}
        served['primary'] = self.primary_reads
        return served

    def close(self) -> None:
        """Close every replica backend (and its health checks' backend)."""
        for replica in self.replicas:
            replica.backend.close()
            if replica.checker is not None:
                replica.checker.close()


def _stay(pooled: Any) -> None:
    """After a statement that needs nothing more on its connection."""


def host_status(backend: RoutedBackend) -> dict[str, Any]:
    """{'hosts': [...]} for backend.status(): every host of the primary config, probed with a
    short connection of its own, then every replica."""
    config = backend.config
    hosts = config.hosts
    entries: list[dict[str, Any]] = []
    pool_given = False
    spec = backend.dialect.replication
    for host, port in hosts:
        port = port or backend.default_port
        role, lag = 'down', None
        timeout = min(config.connect_timeout, 5.0)
        options = dict(config.options)
        if 'read_timeout' in backend.option_specs:
            options['read_timeout'] = timeout   # a frozen host must not hold status() up
        probe = backend.sibling(host=host, port=port, pool_size=1, max_overflow=0,
                                target_session_attrs='any', connect_timeout=timeout, options=options)
        try:
            read_only_sql = probe.dialect.read_only_sql
            read_only = read_only_sql is not None and str(probe.fetch_value(read_only_sql)).lower() in ('on', '1', 'true')
            role = 'replica' if read_only else 'primary'
            if read_only and spec is not None:
                lag = _lag_of(probe, spec)
        except errors.DatabaseError:
            pass
        finally:
            probe.close()
        # Our pool's connections go to the first host that takes them (writable ones for read-write).
        serves = not pool_given and (role == 'primary' or (role == 'replica' and config.session_attrs == 'any'))
        pool_given = pool_given or serves
        entries.append({'host': host, 'port': port, 'role': role, 'lag': lag,
                        'pool': backend.pool.status() if serves or len(hosts) == 1 else None})
    router = backend.router
    if router is not None:
        listed = {(str(entry['host']).lower(), entry['port']): entry for entry in entries}
        for replica in router.replica_status():
            same = listed.get((str(replica['host']).lower(), replica['port']))
            if same is None:
                entries.append(replica)
                continue
            # A host of the primary config that is also a listed replica is one server: one
            # entry, its role as the probe found it (a promoted standby says primary).
            if same['lag'] is None:
                same['lag'] = replica['lag']
            if same['pool'] is None:
                same['pool'] = replica['pool']
    return {'hosts': entries}


def _lag_of(backend: RoutedBackend, spec: ReplicationPositions) -> float | None:
    row = backend.fetch_one(spec.lag_sql)
    if row is None:
        return None
    lag = next(iter(row.values())) if spec.lag_column is None else row.get(spec.lag_column)
    return None if lag is None else float(lag)
