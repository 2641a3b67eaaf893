"""PostgreSQL through pgbouncer in transaction pooling mode (issue 21).

pgbouncer lends each of its 2 server connections to a client for one transaction at a time, so
8 client connections share them. What activerecord sends must survive that: every statement is
one Parse/Bind/Describe/Execute/Sync batch (or one simple Query), streams and savepoints live
inside a transaction. The shared model scenarios and a threaded load run through it; statements
that leave session state are refused with `pooler=transaction`, and without the option the
hazards themselves are shown: a session SET reaching another client, and the migrator's session
advisory lock left held on a pooled server connection.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any, Iterator

import pytest

from activerecord import errors
from activerecord.backend.impl.pgsql.backend import PostgreSQLBackend
from activerecord.backend.transaction import IsolationLevel
from activerecord.backend.typing import ConnectionConfig
from activerecord.migrate import Migrator
from tests.async_api.driver import Api
from tests.async_api.models import HOOK_CALLS, MODELS, Post, User
from tests.async_api.test_scenarios import (async_hook, bulk, crud, finders, many_to_many, query_results,
                                            query_writes, relation_reads, retried, schema, soft_delete,
                                            sync_hooks, transactions)
from tests.conftest import LiveDatabase
from tests.support.pgbouncer import PgBouncer, pgbouncer_binary
from tests.support.servers import ThrowawayPostgres

pytestmark = pytest.mark.server

THREADS = 8
OPERATIONS = 200
SERVER_CONNECTIONS = 2


@pytest.fixture(scope='module')
def bouncer() -> Iterator[PgBouncer]:
    if pgbouncer_binary() is None and os.environ.get('CI') != 'true':
        pytest.skip('pgbouncer is not installed (bash scripts/packages installs it)')
    with ThrowawayPostgres() as server, PgBouncer(server.port, pool_size=SERVER_CONNECTIONS) as running:
        yield running


@pytest.fixture
def pooled(bouncer: PgBouncer) -> Iterator[LiveDatabase]:
    """The scenario models on PostgreSQL behind pgbouncer, with pooler=transaction, tables empty."""
    live = LiveDatabase('pgbouncer', bouncer.url_with('pooler=transaction&pool_size=8&pool_pre_ping=true'))
    live.use(*MODELS)
    HOOK_CALLS.clear()
    try:
        yield live
    finally:
        live.teardown()


def backend_for(bouncer: PgBouncer, query: str = 'pooler=transaction', **changes: Any) -> PostgreSQLBackend:
    return PostgreSQLBackend(ConnectionConfig.from_url(bouncer.url_with(query), connect_timeout=5, **changes))


# -- the shared scenarios, through the sync API and the awaitable twins -------------------------

SCENARIOS = {'crud': crud, 'finders': finders, 'bulk': bulk, 'query_results': query_results,
             'query_writes': query_writes, 'many_to_many': many_to_many, 'transactions': transactions,
             'run_transaction': retried, 'schema': schema, 'soft_delete': soft_delete,
             'sync_hooks': sync_hooks, 'async_hook': async_hook}


@pytest.mark.parametrize('mode', ['sync', 'async'])
@pytest.mark.parametrize('name', sorted(SCENARIOS))
def test_scenario_through_pgbouncer(pooled: LiveDatabase, name: str, mode: str) -> None:
    api = Api(mode)
    api.run(SCENARIOS[name](api))


@pytest.mark.parametrize('mode', ['sync', 'async'])
def test_relation_reads_through_pgbouncer(pooled: LiveDatabase, mode: str) -> None:
    api = Api(mode)
    api.run(relation_reads(api, []))  # the statement log is not watched here


# -- many clients sharing two server connections ------------------------------------------------

def _client_work(worker: int, backend_pids: set[int], lock: threading.Lock) -> None:
    """OPERATIONS model and query operations of one thread; each checks what it reads."""
    backend = User.backend()
    for step in range(OPERATIONS // 10):
        name = f'w{worker}-{step}'
        user = User.create(username=name, email=f'{name}@x', karma=step)                      # 1
        assert User.find_one_or_fail(user.id).username == name                                 # 2
        assert User.find_one({'email': f'{name}@x'}) == user                                   # 3
        Post.insert_many([{'user_id': user.id, 'title': f'{name}-{n}', 'score': n} for n in range(3)])  # 4
        with User.transaction(IsolationLevel.REPEATABLE_READ):                                 # 5: BEGIN..COMMIT
            user.karma += 100
            user.save()
            try:
                with User.transaction():                                                       # a savepoint
                    Post.create(user_id=user.id, title='undone')
                    raise LookupError('roll the savepoint back')
            except LookupError:
                pass
        loaded = User.query().where(id=user.id).with_('posts').all()                           # 6: eager loading
        assert [sorted(post.title for post in one.posts()) for one in loaded] == [
            [f'{name}-{n}' for n in range(3)]]
        assert loaded[0].karma == step + 100
        titles = [post.title for post in Post.query().where(user_id=user.id).order_by('id').iter(batch_size=2)]
        assert titles == [f'{name}-{n}' for n in range(3)]                                    # 7: a stream
        assert Post.query().where(Post.c.score >= 1, user_id=user.id).count() == 2             # 8
        assert User.query().where(id=user.id).update_all(karma=step) == 1                      # 9
        pid = backend.fetch_value('SELECT pg_backend_pid()')                                   # 10
        with lock:
            backend_pids.add(pid)


def test_threads_share_two_server_connections(pooled: LiveDatabase) -> None:
    """8 threads x 200 operations over 8 client connections and 2 server connections: every read
    sees what its thread wrote, no statement fails."""
    failures: list[BaseException] = []
    backend_pids: set[int] = set()
    lock = threading.Lock()

    def run(worker: int) -> None:
        try:
            _client_work(worker, backend_pids, lock)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(worker,)) for worker in range(THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    elapsed = time.perf_counter() - started
    assert not any(thread.is_alive() for thread in threads), 'a client thread hung'
    assert failures == [], failures[:3]
    per_thread = OPERATIONS // 10
    assert User.query().count() == THREADS * per_thread
    assert Post.query().count() == THREADS * per_thread * 3      # no savepoint's row stayed
    # the 8 clients were served by pgbouncer's 2 server connections, and more than one of them
    assert 1 < len(backend_pids) <= SERVER_CONNECTIONS, backend_pids
    print(f'{THREADS * OPERATIONS} operations in {elapsed:.2f}s through pgbouncer, '
          f'server backends seen: {len(backend_pids)}')


def test_statements_with_parameters_never_lose_their_unnamed_statement(bouncer: PgBouncer) -> None:
    """Parameterized statements and executemany from 8 threads: each is one batch ending in one
    Sync, so no other client can take the server connection between Parse and Execute (26000)."""
    backend = backend_for(bouncer, 'pooler=transaction&pool_size=8')
    failures: list[BaseException] = []
    try:
        backend.execute('CREATE TABLE bouncer_params (worker INTEGER, n INTEGER, label TEXT)')

        def run(worker: int) -> None:
            try:
                for n in range(100):
                    assert backend.fetch_value('SELECT CAST(? AS INTEGER) * 2 + ?', (n, worker)) == n * 2 + worker
                    backend.executemany('INSERT INTO bouncer_params VALUES (?, ?, ?)',
                                        [(worker, n, f'{worker}:{n}:{k}') for k in range(2)])
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=run, args=(worker,)) for worker in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert failures == [], failures[:3]
        assert backend.fetch_value('SELECT count(*) FROM bouncer_params') == THREADS * 100 * 2
    finally:
        backend.execute('DROP TABLE IF EXISTS bouncer_params')
        backend.close()


def test_bulk_loads_from_threads_through_pgbouncer(pooled: LiveDatabase) -> None:
    """insert_many of many rows (a bulk path: COPY where the backend has it, else multi-row
    INSERTs), from 8 threads at once, inside and outside transactions."""
    failures: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            for round_ in range(5):
                rows = [{'username': f'b{worker}-{round_}-{n}', 'email': 'b@x', 'karma': n} for n in range(150)]
                if round_ % 2:
                    with User.transaction():
                        assert User.insert_many(rows) == 150
                else:
                    assert User.insert_many(rows) == 150
                assert User.query().where(User.c.username.like(f'b{worker}-{round_}-%')).count() == 150
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(worker,)) for worker in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == [], failures[:3]
    assert User.query().count() == THREADS * 5 * 150
    with pytest.raises(errors.IntegrityError):   # a failed load writes nothing, and the connection goes on
        User.insert_many([{'username': f'dup{n % 120}', 'email': 'd@x'} for n in range(150)])
    assert User.query().where(User.c.username.like('dup%')).count() == 0
    assert User.query().count() == THREADS * 5 * 150


#: the Sync message: its own type byte and length 4, nothing else
SYNC = b'S\x00\x00\x00\x04'


def test_each_statement_is_one_flushed_batch_ending_in_its_only_sync(bouncer: PgBouncer,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """What makes the above safe, checked on the wire: a parameterized statement is written and
    flushed once, with one Sync at its end, so pgbouncer keeps the server connection from Parse
    to ReadyForQuery (pg8000's own run() syncs after Parse and after Describe as well)."""
    import pg8000.core as core   # the writes of pg8000's protocol layer, recorded here only

    backend = backend_for(bouncer, pool_size=1)
    try:
        backend.fetch_value('SELECT 1')   # connected before recording
        pending = bytearray()
        flushed: list[bytes] = []
        write, flush = core._write, core._flush   # pyright: ignore[reportPrivateUsage]

        def recording_write(sock: Any, data: bytes) -> None:
            pending.extend(data)
            write(sock, data)

        def recording_flush(sock: Any) -> None:
            flushed.append(bytes(pending))
            pending.clear()
            flush(sock)

        monkeypatch.setattr(core, '_write', recording_write)
        monkeypatch.setattr(core, '_flush', recording_flush)
        assert backend.fetch_value('SELECT CAST(? AS INTEGER) + 1', (41,)) == 42
        assert len(flushed) == 1 and flushed[0].count(SYNC) == 1 and flushed[0].endswith(SYNC)
        flushed.clear()
        backend.executemany('SELECT CAST(? AS INTEGER)', [(1,), (2,), (3,)])
        assert len(flushed) == 3 and all(batch.count(SYNC) == 1 and batch.endswith(SYNC) for batch in flushed)
    finally:
        monkeypatch.undo()
        backend.close()


def test_server_version_and_read_only_probe_work_through_pgbouncer(bouncer: PgBouncer) -> None:
    # several hosts make the pool probe each new connection for read-write (SHOW transaction_read_only)
    url = bouncer.url_with('pooler=transaction').replace(f':{bouncer.port}/', f':{bouncer.port},127.0.0.1:{bouncer.port}/')
    backend = PostgreSQLBackend(ConnectionConfig.from_url(url, connect_timeout=5))
    try:
        assert backend.server_version()[0] >= 12   # the server's, which pgbouncer passes on
        assert backend.fetch_value('SELECT 1') == 1
    finally:
        backend.close()


# -- what does not work there: refused with the option, a hazard without it ---------------------

@pytest.mark.parametrize(('sql', 'named'), [
    ("SET statement_timeout = '5s'", 'session SET'),
    ('RESET statement_timeout', 'RESET'),
    ('LISTEN jobs', 'LISTEN needs a direct connection'),
    ('PREPARE fetch_one AS SELECT 1', 'named prepared statement'),
    ('SELECT pg_advisory_lock(42)', 'session-level advisory lock'),
    ('CREATE TEMP TABLE scratch (x INTEGER)', 'temporary table'),
])
def test_session_state_is_refused_with_the_pooler_option(bouncer: PgBouncer, sql: str, named: str) -> None:
    backend = backend_for(bouncer, pool_size=1)
    try:
        with pytest.raises(errors.NotSupportedError, match=named) as raised:
            backend.execute(sql)
        assert 'pooler=transaction' in str(raised.value)
        # refused before anything was sent: the same connection goes on
        assert backend.fetch_value('SELECT 2') == 2
    finally:
        backend.close()


def test_transaction_scoped_forms_and_look_alikes_are_not_refused(bouncer: PgBouncer) -> None:
    backend = backend_for(bouncer, pool_size=1)
    try:
        with backend.transaction():
            backend.execute("SET LOCAL statement_timeout = '5s'")
            backend.execute("SELECT set_config('app.user', 'ann', true)")
            assert backend.fetch_value("SELECT current_setting('app.user')") == 'ann'
            backend.execute('CREATE TEMP TABLE scratch_kept (x INTEGER) ON COMMIT DROP')
            backend.execute('DECLARE plain NO SCROLL CURSOR FOR SELECT 1')
            assert backend.fetch_value("SELECT 'SET x = 1; pg_advisory_lock(1)' /* LISTEN x */") == \
                'SET x = 1; pg_advisory_lock(1)'
        backend.execute('CREATE TABLE bouncer_set (n INTEGER)')
        backend.execute('UPDATE bouncer_set SET n = 1')
        backend.execute('DROP TABLE bouncer_set')
    finally:
        backend.close()


def test_the_pooler_option_is_checked(bouncer: PgBouncer) -> None:
    with pytest.raises(errors.ConfigurationError, match="options\\['pooler'\\]: 'statement' is not allowed"):
        backend_for(bouncer, 'pooler=statement')


def test_session_set_inside_a_transaction_is_refused_and_the_transaction_goes_on(bouncer: PgBouncer) -> None:
    backend = backend_for(bouncer, pool_size=1)
    try:
        with backend.transaction():
            with pytest.raises(errors.NotSupportedError, match='use SET LOCAL'):
                backend.execute("SET lock_timeout = '1s'")
            backend.execute("SET LOCAL lock_timeout = '1s'")   # ends with the transaction: allowed
            assert backend.fetch_value('SHOW lock_timeout') == '1s'
            with pytest.raises(errors.NotSupportedError, match='WITH HOLD'):
                backend.execute('DECLARE held CURSOR WITH HOLD FOR SELECT 1')
            assert backend.fetch_value('SELECT 1 FROM pg_advisory_xact_lock(7)') == 1   # the transaction-level form
    finally:
        backend.close()


def test_the_migrator_refuses_to_take_its_session_lock_through_the_pooler(bouncer: PgBouncer, tmp_path: Any) -> None:
    (tmp_path / '0001_first.py').write_text(
        "revision = '0001'\ndown_revision = None\n\n\ndef up(op):\n    op.execute('CREATE TABLE bouncer_m (id INTEGER)')\n\n\n"
        "def down(op):\n    op.execute('DROP TABLE bouncer_m')\n")
    with Migrator(bouncer.url_with('pooler=transaction'), tmp_path) as migrator:
        with pytest.raises(errors.NotSupportedError, match='run migrations on a direct connection'):
            migrator.up()
    backend = backend_for(bouncer)
    try:
        assert backend.fetch_value("SELECT to_regclass('bouncer_m') IS NULL") is True   # nothing ran
    finally:
        backend.close()


def test_without_the_option_a_session_set_leaks_to_another_client(bouncer: PgBouncer) -> None:
    """pgbouncer's behaviour, documented: one client's session SET is seen by another client that
    never asked for it, because both are served by the same server connection (a pgbouncer of its
    own with one server connection, so that the leak is certain and ends with it)."""
    with PgBouncer(bouncer.server_port, pool_size=1) as single:
        setter = PostgreSQLBackend(ConnectionConfig.from_url(single.url, connect_timeout=5, pool_size=1))
        other = PostgreSQLBackend(ConnectionConfig.from_url(single.url, connect_timeout=5, pool_size=1))
        try:
            assert other.fetch_value('SHOW statement_timeout') == '0'
            setter.execute("SET statement_timeout = '4321ms'")
            assert other.fetch_value('SHOW statement_timeout') == '4321ms'
        finally:
            setter.close()
            other.close()


def test_without_the_option_the_migrators_session_lock_outlives_it(bouncer: PgBouncer, tmp_path: Any) -> None:
    """Why the migrator is refused there: its session advisory lock is taken on one server
    connection and, when another client holds that one at the end of the run, released on the
    other (pg_advisory_unlock answers false), so the lock stays held after the migrator is gone
    and the next migrator waits for it. Made certain here: when the last revision is done, a
    client holds the lock's server connection in an open transaction until the run has ended."""
    (tmp_path / '0001_first.py').write_text(
        "revision = '0001'\ndown_revision = None\n\n\ndef up(op):\n    op.execute('CREATE TABLE bouncer_lock (id INTEGER)')\n\n\n"
        "def down(op):\n    op.execute('DROP TABLE bouncer_lock')\n")
    holding = 'SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = ? AND pid = pg_backend_pid())'
    with PgBouncer(bouncer.server_port, pool_size=2) as two:
        clients = [PostgreSQLBackend(ConnectionConfig.from_url(two.url, connect_timeout=5, pool_size=1))
                   for _ in range(2)]
        direct = PostgreSQLBackend(ConnectionConfig.from_url(
            f'postgresql://postgres@127.0.0.1:{bouncer.server_port}/postgres', connect_timeout=5))
        pinned: list[PostgreSQLBackend] = []

        def pin_the_lock_holder(revision: str) -> None:
            # both server connections taken by a transaction each; the one on the lock holder stays
            for client in clients:
                client.transaction_manager.begin()
            on_holder = [client.fetch_value(holding, ('advisory',)) for client in clients]
            assert on_holder.count(True) == 1, on_holder
            for client, holds in zip(clients, on_holder):
                if holds:
                    pinned.append(client)
                else:
                    client.transaction_manager.commit()

        try:
            with Migrator(two.url, tmp_path) as migrator:
                assert migrator.up(progress=pin_the_lock_holder) == ['0001']
            pinned[0].transaction_manager.commit()
            assert direct.fetch_value("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 1
        finally:
            for client in clients:
                if client.in_transaction:
                    client.transaction_manager.rollback()
                client.close()
            direct.execute('DROP TABLE IF EXISTS bouncer_lock')
            direct.execute('DROP TABLE IF EXISTS ar_schema_migrations')
            direct.close()
