"""A transaction belongs to the asyncio task or thread that opened it (a ContextVar).

Runs on every live backend through the `db` fixture. Async tests drive their own event loop with
`asyncio.run`; the model calls inside the tasks are the ordinary synchronous ones, so a task runs
statements between its awaits exactly as an async twin would.
"""
from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from activerecord import ActiveRecord
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import ActiveRecordError, OperationalError


class Note(ActiveRecord):
    __table_name__ = 'ar_task_notes'
    id: int
    title: str


class Failed(Exception):
    pass


#: databases where a second writer waits for the first one's lock (one writer at a time): a task
#: there writes only between awaits, never across one, or it would block the only thread
SINGLE_WRITER = {'sqlite'}


def titles() -> list[str]:
    return sorted(note.title for note in Note.find_all())


def test_a_task_suspended_in_its_transaction_does_not_capture_another_tasks_statement(db) -> None:
    db.use(Note)
    writes_across_await = db.name not in SINGLE_WRITER
    a_inside, b_done = asyncio.Event(), asyncio.Event()

    async def task_a() -> None:
        with pytest.raises(Failed):
            with Note.transaction():
                if writes_across_await:
                    Note.create(title='a')      # holds the row while suspended below
                a_inside.set()
                await b_done.wait()
                await asyncio.sleep(0.05)
                if not writes_across_await:
                    Note.create(title='a')
                raise Failed

    async def task_b() -> None:
        await a_inside.wait()
        assert not Note.backend().in_transaction      # A's transaction is not B's
        Note.create(title='b')                        # autocommits on its own connection
        b_done.set()

    async def main() -> None:
        await asyncio.gather(task_a(), task_b())

    asyncio.run(main())
    assert titles() == ['b']
    assert Note.backend().pool.status()['checked_out'] == 0


def test_fifty_concurrent_task_transactions_keep_exactly_the_committed_rows(db) -> None:
    db.use(Note)
    # 50 transactions open at once need 50 connections (a ':memory:' SQLite is a new database)
    backend = Note.configure(ConnectionConfig.from_url(db.url, pool_size=5, max_overflow=60))
    Note.create_table()
    writes_across_await = db.name not in SINGLE_WRITER

    async def one(number: int) -> None:
        with Note.transaction():
            await asyncio.sleep(0)
            Note.create(title=f'n{number:02d}')
            if writes_across_await:
                await asyncio.sleep(0)
            if number % 2:
                raise Failed(number)

    async def main() -> list:
        return await asyncio.gather(*(one(number) for number in range(50)), return_exceptions=True)

    try:
        outcomes = asyncio.run(main())
        assert [type(outcome) for outcome in outcomes] == [type(None), Failed] * 25
        assert titles() == [f'n{number:02d}' for number in range(0, 50, 2)]
        assert backend.pool.status()['checked_out'] == 0
    finally:
        backend.close()


def test_tasks_created_inside_the_block_share_its_transaction(db) -> None:
    db.use(Note)

    async def child(number: int) -> bool:
        Note.create(title=f'child{number}')
        await asyncio.sleep(0)
        return Note.backend().in_transaction

    async def main(fail: bool) -> list[bool]:
        with Note.transaction():
            inside = await asyncio.gather(*(child(number) for number in range(3)))
            if fail:
                raise Failed
        return inside

    with pytest.raises(Failed):
        asyncio.run(main(fail=True))
    assert titles() == []                            # the children's rows went with the block
    assert asyncio.run(main(fail=False)) == [True, True, True]
    assert titles() == ['child0', 'child1', 'child2']


def test_a_nested_block_opened_by_a_task_that_does_not_own_the_transaction_is_refused(db) -> None:
    db.use(Note)

    async def child() -> None:
        with Note.transaction():
            Note.create(title='never')

    async def main() -> None:
        with Note.transaction():
            Note.create(title='owner')
            with pytest.raises(ActiveRecordError, match='another task or thread'):
                await asyncio.create_task(child())
            assert Note.backend().transaction_manager.depth == 1   # the stack is untouched

    asyncio.run(main())
    assert titles() == ['owner']


def test_threads_sharing_a_transaction_take_turns_on_its_connection(db) -> None:
    db.use(Note)
    backend = Note.backend()
    finished = threading.Event()

    def statement_from_thread() -> None:
        Note.create(title='from thread')
        finished.set()

    with Note.transaction():
        context = contextvars.copy_context()           # what asyncio.to_thread hands a thread
        thread = threading.Thread(target=context.run, args=(statement_from_thread,))
        with backend.connection():                     # this thread's turn on the connection
            thread.start()
            assert not finished.wait(0.3)              # the thread waits for its turn...
        thread.join(30)
        assert finished.is_set()                       # ...and takes it once the turn is free
        assert backend.pool.status()['checked_out'] == 1   # on the transaction's connection
        refused: list[BaseException] = []
        thread = threading.Thread(target=context.run, args=(_open_nested_block, refused))
        thread.start()                                 # same transaction, but not its owner
        thread.join(30)
        assert len(refused) == 1 and isinstance(refused[0], ActiveRecordError), refused
        assert 'another task or thread' in str(refused[0])
    assert titles() == ['from thread']


def _open_nested_block(refused: list) -> None:
    try:
        with Note.transaction():
            pass
    except BaseException as error:
        refused.append(error)


def test_configure_inside_the_models_own_transaction_is_refused(db) -> None:
    db.use(Note)
    with Note.transaction():
        with pytest.raises(ActiveRecordError, match='inside an open transaction'):
            Note.configure(db.url)
        Note.create(title='still here')
    Note.configure(db.url)                             # outside, configuring again is fine
    assert titles() == ['still here']


def test_a_generator_closed_in_another_thread_ends_its_own_transaction_only(db) -> None:
    db.use(Note)
    backend = Note.backend()

    def writer():
        with Note.transaction():
            Note.create(title='generator')
            yield

    held = writer()
    next(held)                                         # this thread now has the generator's transaction
    assert backend.in_transaction
    seen: list = []

    def close_while_in_own_transaction() -> None:
        with Note.transaction():
            held.close()                               # GeneratorExit runs the block's rollback here
            Note.create(title='closer')
            seen.append(backend.in_transaction)        # the closer's own transaction is still open

    thread = threading.Thread(target=close_while_in_own_transaction)
    thread.start()
    thread.join(30)
    assert seen == [True]
    assert not backend.in_transaction                  # the owner is not left stranded
    assert titles() == ['closer']
    assert backend.pool.status()['checked_out'] == 0


def test_a_savepoint_name_already_open_is_refused_and_the_older_one_kept(db) -> None:
    db.use(Note)
    tm = Note.backend().transaction_manager
    with Note.transaction():
        Note.create(title='before')
        tm.savepoint('s1')
        Note.create(title='after s1')
        with pytest.raises(ActiveRecordError, match="'s1' is already open"):
            tm.savepoint('s1')
        Note.create(title='after the refusal')
        tm.rollback_to('s1')                           # the first s1 is still known
        tm.release('s1')
    assert titles() == ['before']


def test_a_task_cancelled_inside_its_transaction_rolls_back_and_returns_the_connection(db) -> None:
    db.use(Note)

    async def victim(started: asyncio.Event) -> None:
        with Note.transaction():
            Note.create(title='cancelled')
            started.set()
            await asyncio.Event().wait()                # suspended here until cancelled

    async def main() -> None:
        started = asyncio.Event()
        task = asyncio.create_task(victim(started))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not Note.backend().in_transaction

    asyncio.run(main())
    assert titles() == []
    assert Note.backend().pool.status()['checked_out'] == 0


@pytest.mark.parametrize('ending', ['rollback', 'commit'])
def test_a_task_that_outlives_the_transaction_it_inherited_is_refused_not_autocommitted(db, ending) -> None:
    db.use(Note)
    seen: dict = {}

    async def child(block_ended: asyncio.Event) -> None:
        await block_ended.wait()
        with pytest.raises(ActiveRecordError, match='inherited its transaction, which has since ended'):
            Note.create(title='late')                 # would silently autocommit outside the block
        with Note.transaction():                       # its own transaction replaces the ended one
            Note.create(title='own')
        Note.create(title='after own')                 # and once that ended, it runs plain ones
        seen['child'] = Note.backend().in_transaction

    async def main() -> None:
        block_ended = asyncio.Event()
        try:
            with Note.transaction():
                Note.create(title='block')
                task = asyncio.create_task(child(block_ended))
                if ending == 'rollback':
                    raise Failed
        except Failed:
            pass
        Note.create(title='owner after')              # the owner itself goes on normally
        block_ended.set()
        await task

    asyncio.run(main())
    expected = ['after own', 'own', 'owner after'] + (['block'] if ending == 'commit' else [])
    assert titles() == sorted(expected)
    assert seen == {'child': False}
    assert Note.backend().pool.status()['checked_out'] == 0


def test_a_thread_that_outlives_the_transaction_it_inherited_is_refused_not_autocommitted(db) -> None:
    db.use(Note)
    refused: list[BaseException] = []

    def late_statement() -> None:
        try:
            Note.create(title='late')
        except BaseException as error:
            refused.append(error)

    with pytest.raises(Failed):
        with Note.transaction():
            Note.create(title='block')
            context = contextvars.copy_context()       # what asyncio.to_thread hands a thread
            raise Failed
    thread = threading.Thread(target=context.run, args=(late_statement,))
    thread.start()
    thread.join(30)
    assert len(refused) == 1 and isinstance(refused[0], ActiveRecordError), refused
    assert 'with Model.transaction()' in str(refused[0])
    assert titles() == []


def test_a_thread_waiting_for_a_turn_held_by_a_suspended_stream_gives_up_after_pool_timeout(db) -> None:
    db.use(Note)
    # a ':memory:' SQLite configured again is a new database, hence create_table() below
    backend = Note.configure(ConnectionConfig.from_url(db.url, pool_timeout=0.5))
    Note.create_table()
    Note.insert_many([{'title': f't{number}'} for number in range(6)])
    outcome: dict = {}

    def statement_from_thread() -> None:
        try:
            Note.create(title='from thread')
            outcome['ok'] = True
        except BaseException as error:
            outcome['error'] = error

    try:
        with Note.transaction():
            stream = Note.query().order_by('id').iter(batch_size=2)
            next(stream)                               # suspended: it holds the connection's turn
            Note.create(title='same thread')           # re-entry from the stream's own thread works
            context = contextvars.copy_context()       # what asyncio.to_thread hands a thread
            thread = threading.Thread(target=context.run, args=(statement_from_thread,), daemon=True)
            thread.start()
            thread.join(20)
            waited_for_ever = thread.is_alive()
            stream.close()
        assert not waited_for_ever
        error = outcome.get('error')
        assert isinstance(error, ActiveRecordError), outcome
        assert 'another task or thread' in str(error) and 'open stream' in str(error)
        assert 'same thread' in titles() and 'from thread' not in titles()
        assert backend.pool.status()['checked_out'] == 0
    finally:
        thread.join(30)
        backend.close()


def test_the_owner_ending_a_transaction_whose_turn_a_stream_in_another_thread_holds_gives_up(db) -> None:
    """The owner's COMMIT waits at most pool_timeout for a sharer's turn, then rolls back by closing."""
    db.use(Note)
    backend = Note.configure(ConnectionConfig.from_url(db.url, pool_timeout=0.5))
    Note.create_table()
    Note.insert_many([{'title': f't{number}'} for number in range(6)])
    holding, finish = threading.Event(), threading.Event()
    outcome: dict = {}

    def stream_in_thread() -> None:
        stream = Note.query().order_by('id').iter(batch_size=2)
        try:
            next(stream)                 # suspended: the thread holds the transaction's turn
            holding.set()
            finish.wait(20)
            outcome['rest'] = list(stream)
        except BaseException as error:
            # the class only: a kept traceback would keep the stream's cursor (and on SQLite the
            # closed connection's lock) alive
            outcome['error'] = type(error)
        finally:
            stream.close()

    thread = None
    try:
        with pytest.raises(ActiveRecordError, match='could not commit') as raised:
            with Note.transaction():
                Note.create(title='owner')
                context = contextvars.copy_context()
                thread = threading.Thread(target=context.run, args=(stream_in_thread,), daemon=True)
                thread.start()
                assert holding.wait(20)
        assert 'rolled the transaction back' in str(raised.value)
        finish.set()
        thread.join(20)
        assert not thread.is_alive()
        assert issubclass(outcome.get('error', type(None)), OperationalError), outcome   # its connection was closed
        assert 'owner' not in titles()                 # nothing of the transaction was committed
        assert backend.pool.status()['checked_out'] == 0
        assert not backend.in_transaction
        with Note.transaction():
            Note.create(title='after')
        assert 'after' in titles()
    finally:
        finish.set()
        if thread is not None:
            thread.join(30)
        backend.close()
