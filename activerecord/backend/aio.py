"""Async calls over blocking drivers: worker threads, the call a thread serves, awaited hooks.

The pure-Python drivers block, so an async call runs its blocking work on a worker thread of the
backend (one ThreadPoolExecutor each, as many threads as the pool has connections: threads never
wait for the pool, the event loop does). The worker runs in a copy of the calling task's context,
in which `_current_call` says whose call it is: the transaction code asks it for the owner (so
nesting checks treat the statement as the task's own), and `run_awaitable` asks it for the loop
on which an async hook is to be awaited.

Work tied to one thread runs on a Lane (jobs one at a time on one thread): an async transaction's
statements, streams and savepoints; a stream's steps; an awaited hook's own calls.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any, Awaitable, Callable, Coroutine, Iterator, TypeVar

from ..errors import ActiveRecordError
from .pool import PooledConnection

T = TypeVar('T')


class AsyncCall:
    """Whose call a worker thread is running: the task's transaction owner and its event loop;
    in an awaited hook's context, also the hook's own task (which acts as the call: the tasks it
    creates copy this context but are other tasks), and the sync function the call runs."""

    __slots__ = ('owner', 'loop', 'hook', 'fn')

    def __init__(self, owner: tuple[int, Any], loop: asyncio.AbstractEventLoop,
                 fn: Callable[..., Any] | None = None) -> None:
        self.owner = owner
        self.loop = loop
        self.hook: asyncio.Task[Any] | None = None
        self.fn = fn

    def owner_here(self) -> tuple[int, Any]:
        """The transaction owner of the code running now: the call's, on its worker thread or in
        its hook's own task; a task that hook created is its own owner."""
        hook = self.hook
        if hook is None:
            return self.owner
        task = _running_task()
        return self.owner if task is hook else (threading.get_ident(), task)

    def verb(self) -> str:
        """The async twin this call runs, for messages (`asave()`), or 'an async call'."""
        name = getattr(self.fn, '__name__', '')
        return f'a{name}()' if name.isidentifier() and not name.startswith('<') else 'an async call'


#: set in the copied context a worker thread runs a task's call in; None elsewhere
_current_call: ContextVar[AsyncCall | None] = ContextVar('activerecord_async_call', default=None)


def current_call() -> AsyncCall | None:
    """The async call this thread is running for a task, or None (plain sync code, or the loop)."""
    return _current_call.get()


def in_hook_task() -> bool:
    """Whether the running task is an awaited async hook's own coroutine (not a task it created)."""
    call = _current_call.get()
    return call is not None and call.hook is not None and call.hook is _running_task()


def _running_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:   # no event loop running in this thread
        return None


_WAKE: Any = object()   # an inbox item that only makes a serving loop look at its condition again

#: the lane this thread is serving now, if any (a thread-local: jobs run in contexts of their own)
_thread_lane = threading.local()


class Lane:
    """Jobs run one at a time, in order, on one thread: a transaction's, a stream's, or the worker
    thread blocked in run_awaitable() (an async hook), which runs the hook's own blocking calls.

    A transaction's statements, its streams' steps and its nested blocks all run on its lane, as
    sync code runs a transaction on one thread: its turn lock is a threading.RLock, so a stream
    holding the turn between steps does not shut out the statements of the loop's body. A hook's
    `await Model.acreate(...)` runs on the lane of the thread that awaits the hook: that thread
    already holds the call's connection or transaction, and every other worker thread might be
    blocked in a hook the same way (a deadlock). `at_end` callbacks (closing the streams still
    open) run on the lane's thread when its owner ends it, before what the lane used is given back.
    """

    __slots__ = ('_inbox', '_lock', '_finished', '_at_end', 'hooks')

    def __init__(self) -> None:
        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._finished = False
        self._at_end: list[Callable[[], None]] = []
        #: owners of the async hooks this lane's thread awaits now, nested, innermost last (only
        #: touched on that thread)
        self.hooks: list[tuple[int, Any]] = []

    @classmethod
    def start(cls, name: str) -> Lane:
        """A lane with a daemon thread of its own, serving it until finish(): an idle thread that
        served an earlier lane, or a new one (starting a thread per transaction cost a quarter of
        the async throughput under load)."""
        lane = cls()
        lane_threads.serve(lane, name)
        return lane

    def submit(self, job: Callable[[], T]) -> Future[T] | None:
        """Queue job; None once the lane has finished (its call, hook or transaction ended)."""
        with self._lock:
            if self._finished:
                return None
            future: Future[T] = Future()
            self._inbox.put((future, job))
            return future

    def finish(self) -> None:
        """Accept no more jobs: those accepted before still run, then the at_end callbacks."""
        with self._lock:
            self._finished = True
            self._inbox.put(_WAKE)   # after every job accepted before

    def wake(self) -> None:
        """Make the serving loop check its condition (a nested wait may be over)."""
        self._inbox.put(_WAKE)

    def on_lane_thread(self) -> bool:
        """Whether the calling thread is serving this lane now."""
        return getattr(_thread_lane, 'lane', None) is self

    def at_end(self, callback: Callable[[], None]) -> None:
        """On the lane's thread: run callback there when the lane ends (unless forgotten first)."""
        self._at_end.append(callback)

    def forget(self, callback: Callable[[], None]) -> None:
        """On the lane's thread: drop an at_end callback (what it closes was closed already)."""
        if callback in self._at_end:
            self._at_end.remove(callback)

    def run_at_end(self) -> None:
        """On the lane's thread: run the at_end callbacks now, newest first."""
        while self._at_end:
            self._at_end.pop()()

    def serve(self, done: Callable[[], bool]) -> None:
        """Run the jobs sent here, on the calling thread, until done() is seen true."""
        previous = getattr(_thread_lane, 'lane', None)
        _thread_lane.lane = self
        try:
            while not done():
                item = self._inbox.get()
                if item is not _WAKE:
                    _run_job(*item)
        finally:
            _thread_lane.lane = previous

    def serve_to_end(self) -> None:
        """Serve until finish(), run the jobs accepted before it, then the at_end callbacks."""
        self.serve(lambda: self._finished)
        previous = getattr(_thread_lane, 'lane', None)
        _thread_lane.lane = self
        try:
            while True:
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if item is not _WAKE:
                    _run_job(*item)
            self.run_at_end()
        finally:
            _thread_lane.lane = previous


class LaneThreads:
    """Daemon threads serving lanes, each kept for the next lane once its lane ends.

    An idle thread waits `idle_timeout` seconds for a lane, then exits, so a burst of transactions
    leaves no threads behind for long. Threads stay daemon: the interpreter never waits for an
    idle one at exit. `_spare` counts the idle threads not yet promised to a queued lane (idle
    threads minus queued lanes), changed only under `_lock`; a lane is queued only when it takes
    one from it, and a thread whose wait timed out exits only when it can give one back, so every
    queued lane keeps a thread waiting for it, whenever the timeouts fall.
    """

    def __init__(self, idle_timeout: float = 30.0) -> None:
        self.idle_timeout = idle_timeout
        self._lock = threading.Lock()
        self._spare = 0
        # A Queue, not a SimpleQueue: with several idle threads waiting on one SimpleQueue, a
        # get(timeout=...) was seen to block for good on CPython 3.11 (the race stress test in
        # tests/backend/test_async_lane_threads.py), Queue's Condition-based wait does not.
        self._queued: queue.Queue[tuple[Lane, str]] = queue.Queue()

    def serve(self, lane: Lane, name: str) -> None:
        """Have a thread serve lane until its end, named name while it does."""
        with self._lock:
            if self._spare:
                self._spare -= 1
                self._queued.put((lane, name))
                return
        threading.Thread(target=self._run, args=(lane,), name=name, daemon=True).start()

    def _run(self, lane: Lane) -> None:
        while True:
            lane.serve_to_end()   # if its at_end callbacks raise, the thread dies, as without reuse
            current = threading.current_thread()
            current.name = IDLE_LANE_THREAD
            with self._lock:
                self._spare += 1
            next_lane = self._next()
            if next_lane is None:
                return
            lane, current.name = next_lane

    def _next(self) -> tuple[Lane, str] | None:
        """The next queued lane for this idle thread, or None once it may exit."""
        while True:
            try:
                return self._queued.get(timeout=self.idle_timeout)
            except queue.Empty:
                pass
            with self._lock:
                if self._spare:   # the other idle threads outnumber the queued lanes
                    self._spare -= 1
                    return None
            # every idle thread, this one too, is promised to a lane queued since: take one


IDLE_LANE_THREAD = 'activerecord-idle-lane'   # the name of a thread waiting for its next lane

#: the threads every Lane.start() draws from
lane_threads = LaneThreads()


def _run_job(future: Future[Any], job: Callable[[], Any]) -> None:
    if future.set_running_or_notify_cancel():
        try:
            result = job()
        except BaseException as error:   # handed to the awaiting task, whatever it is
            future.set_exception(error)
        else:
            future.set_result(result)


class Loan:
    """A pooled connection lent to one async call, for use on the one thread that runs it.

    It rides in the call's context, which tasks started by the call's hooks copy: those may
    outlive the call, or run on other threads, so the loan is honoured only while open and on
    its own thread (where the call's statements and its hooks' nested calls run)."""

    __slots__ = ('pooled', 'thread', 'open', 'single')

    def __init__(self, pooled: PooledConnection, single: bool = False) -> None:
        self.pooled = pooled
        self.thread = threading.get_ident()
        self.open = True
        #: a stream's connection: lent to its first statement only (the stream's own cursor), as
        #: sync code gives a stream a connection of its own; later statements take another one
        self.single = single

    def usable(self) -> bool:
        """Whether the calling thread may run statements on the lent connection now."""
        return self.open and self.thread == threading.get_ident()


#: set in the context of a hook awaited by run_awaitable: the lane of the thread waiting for it
_serving: ContextVar[Lane | None] = ContextVar('activerecord_serving_lane', default=None)


def serving_lane() -> Lane | None:
    """The lane of the worker thread awaiting the async hook this task runs (or was started by)."""
    return _serving.get()


class Workers:
    """A backend's worker threads, created at the first async call, shut down by close()."""

    def __init__(self, max_workers: int, name: str) -> None:
        self.max_workers = max(1, max_workers)
        self.name = name
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], T]) -> Future[T]:
        """Run job on a worker thread of the pool's size (lanes are chosen by the callers)."""
        executor = self._executor
        if executor is None:
            with self._lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(self.max_workers, thread_name_prefix=self.name)
                executor = self._executor
        return executor.submit(job)

    def shutdown(self) -> None:
        """Stop the threads once their current jobs end (never waits: close() may run on one); a
        later call starts new ones (a transaction may still be finishing on a closed backend)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)


def task_context(owner: tuple[int, Any], fn: Callable[..., Any] | None = None) -> contextvars.Context:
    """A copy of the calling task's context, marked as a call of that task (for a worker thread)
    running `fn` (named in messages)."""
    context = contextvars.copy_context()
    context.run(_current_call.set, AsyncCall(owner, asyncio.get_running_loop(), fn))
    return context


async def wait_for_job(future: Future[T], on_cancel: Callable[[], None] | None = None) -> T:
    """The job's result. Cancelled meanwhile: `on_cancel()` (a job not yet started may then skip
    its work), the job is still waited for (a thread cannot be interrupted, and what it holds is
    given back when it ends), then CancelledError is raised; a further cancel changes nothing."""
    waiting = asyncio.wrap_future(future)
    try:
        return await asyncio.shield(waiting)
    except asyncio.CancelledError:
        if on_cancel is not None:
            on_cancel()
        while not waiting.done():
            try:
                await asyncio.shield(waiting)
            except asyncio.CancelledError:
                continue
            except BaseException:
                break
        if not waiting.cancelled():
            waiting.exception()   # seen: the cancellation is what the caller is told
        raise


def run_awaitable(awaitable: Awaitable[T]) -> T:
    """From a worker thread running a task's async call: await `awaitable` on that task's loop (in a
    copy of this thread's context) and return its result. Anywhere else it is refused."""
    call = _current_call.get()
    if call is None or call.loop.is_closed() or _on_loop_thread(call.loop):
        if isinstance(awaitable, Coroutine):
            awaitable.close()   # never awaited: closed, so Python does not warn about it
        raise ActiveRecordError(
            'an async hook or callable (an `async def`) was reached from synchronous code, which cannot '
            'await it; call the async twin instead (e.g. `await obj.asave()` rather than `obj.save()`)')
    lane: Lane | None = getattr(_thread_lane, 'lane', None)
    own = lane is None   # else this thread serves a lane already (a transaction's, or a hook's)
    serving = Lane() if lane is None else lane
    if any(owner != call.owner for owner in serving.hooks):
        # Hooks awaited on one thread return last-in first-out: this one, of another task, would
        # hold up the hook already awaited here (and that task's call) until it returns; if it
        # waited for anything that task does next, both would wait forever.
        if isinstance(awaitable, Coroutine):
            awaitable.close()
        raise ActiveRecordError(
            f'{call.verb()}: its async hook cannot run while this transaction (or async call) is '
            'awaiting an async hook of another task: hooks awaited on one connection end in '
            'reverse order, so the two could wait for each other forever; inside one transaction, '
            'await writes with async hooks one after another (not side by side in '
            'asyncio.gather() or in tasks a hook starts), or give each task its own transaction')
    serving.hooks.append(call.owner)
    try:
        return _await_on(call, awaitable, serving, own)
    finally:
        serving.hooks.pop()


def _await_on(call: AsyncCall, awaitable: Awaitable[T], serving: Lane, own: bool) -> T:
    """run_awaitable()'s wait: the hook runs as a task on the call's loop, while this thread
    serves `serving` (the hook's own blocking calls)."""
    loop = call.loop
    context = contextvars.copy_context()
    context.run(_serving.set, serving)
    # The hook's own task acts as the call (owner, lane, connection); tasks it creates copy this
    # context, but owner_here() tells them apart by `hook`.
    hook_call = AsyncCall(call.owner, loop, call.fn)
    context.run(_current_call.set, hook_call)
    outcome: list[asyncio.Future[T] | BaseException] = []
    done: list[bool] = []

    def finished(_: object = None) -> None:
        done.append(True)
        if own:
            serving.finish()
        else:
            serving.wake()

    def start() -> None:
        coroutine = _awaited(awaitable)
        try:
            # context.run(create_task): the task copies that context (create_task(context=) is 3.11+)
            task = context.run(loop.create_task, coroutine)
        except BaseException as error:
            coroutine.close()
            if isinstance(awaitable, Coroutine):
                awaitable.close()   # never awaited: closed, so Python does not warn about it
            outcome.append(error)
            finished()
            raise
        hook_call.hook = task   # before its first step: create_task only schedules it
        outcome.append(task)
        task.add_done_callback(finished)

    try:
        loop.call_soon_threadsafe(start)
    except RuntimeError:   # the loop closed meanwhile
        if isinstance(awaitable, Coroutine):
            awaitable.close()
        raise ActiveRecordError('the event loop of the async call that reached this hook is closed') from None
    if own:
        # Then what the hook left open on the call's connection (a transaction, its streams) is
        # closed, here, before the call gives its connection back.
        serving.serve_to_end()
    else:
        serving.serve(lambda: bool(done))
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result.result()


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


class LaneStream:
    """A sync iterator stepped from the event loop, each step a job on one lane.

    On a lane of its own (its thread lives as long as the stream), on its transaction's lane (its
    steps interleave with the transaction's statements, as in sync code), or on the lane of the
    worker thread awaiting the async hook that opened it (on the call's connection). Whatever the
    lane, the iterator is opened, stepped and closed there, in `context`, and `finish()` runs
    after it closes. A stream still open when its lane ends (the hook returned, the transaction
    ends) is closed then, before the connection is given back or the transaction ended: its
    next step raises ActiveRecordError.
    """

    def __init__(self, lane: Lane, context: contextvars.Context, open_iterator: Callable[[], Iterator[Any]],
                 finish: Callable[[], None], own_lane: bool) -> None:
        self._lane = lane
        self._context = context
        self._open_iterator = open_iterator
        self._finish = finish
        self._own_lane = own_lane
        self._iterator: Iterator[Any] | None = None
        self.ended = False   # closed, on its own lane's thread
        self.cut = False     # closed because its lane ended first
        self._cut_short = functools.partial(self._close_here, True)

    def open(self) -> Future[None] | None:
        """Open the iterator on the lane; None if the lane takes no more jobs."""
        return self._lane.submit(self._open_here)

    def _open_here(self) -> None:
        self._lane.at_end(self._cut_short)
        try:
            self._iterator = self._context.run(self._open_iterator)
        except BaseException:
            self._close_here()
            raise

    def step(self) -> Future[tuple[bool, Any]]:
        """(True, next item) or (False, None) at the end; the iterator's error is raised."""
        future = self._lane.submit(self._step_here)
        if future is not None:
            return future
        refused: Future[tuple[bool, Any]] = Future()
        if self.ended and not self.cut:
            refused.set_result((False, None))
        else:
            refused.set_exception(self._cut_error())
        return refused

    def _step_here(self) -> tuple[bool, Any]:
        if self.ended or self._iterator is None:
            if self.cut:
                raise self._cut_error()
            return False, None
        try:
            item = self._context.run(next, self._iterator)
        except StopIteration:
            self._close_here()
            return False, None
        except BaseException:
            self._close_here()
            raise
        return True, item

    def close(self) -> Future[None]:
        """Close the iterator and give back what it held (a no-op once it ended)."""
        future = self._lane.submit(self._close_here)
        if future is not None:
            return future
        done: Future[None] = Future()   # the lane ended: it closed (or is closing) the stream itself
        done.set_result(None)
        return done

    def _close_here(self, cut: bool = False) -> None:
        if self.ended:
            return
        self.ended, self.cut = True, cut
        self._lane.forget(self._cut_short)
        iterator, self._iterator = self._iterator, None
        try:
            close = getattr(iterator, 'close', None)
            if close is not None:
                self._context.run(close)
        finally:
            try:
                self._context.run(self._finish)
            finally:
                if self._own_lane:
                    self._lane.finish()

    @staticmethod
    def _cut_error() -> ActiveRecordError:
        return ActiveRecordError(
            'this stream was closed because what it read in ended first: the async hook that opened '
            'it returned (its call gave the connection back) or its transaction ended; read a stream '
            'to its end (or close it) inside the hook or the transaction block that opened it')
