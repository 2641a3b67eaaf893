"""Async calls over blocking drivers: worker threads, the call a thread serves, awaited hooks.

The pure-Python drivers block, so an async call runs its blocking work on a worker thread of the
backend (one ThreadPoolExecutor each, as many threads as the pool has connections: threads never
wait for the pool, the event loop does). The worker runs in a copy of the calling task's context,
in which `_current_call` says whose call it is: the transaction code asks it for the owner (so
nesting checks treat the statement as the task's own), and `run_awaitable` asks it for the loop
on which an async hook is to be awaited.
"""
from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any, Awaitable, Callable, Coroutine, Iterator, TypeVar

from ..errors import ActiveRecordError
from .pool import PooledConnection

T = TypeVar('T')


class AsyncCall:
    """Whose call a worker thread is running: the task's transaction owner and its event loop."""

    __slots__ = ('owner', 'loop')

    def __init__(self, owner: tuple[int, Any], loop: asyncio.AbstractEventLoop) -> None:
        self.owner = owner
        self.loop = loop


#: set in the copied context a worker thread runs a task's call in; None elsewhere
_current_call: ContextVar[AsyncCall | None] = ContextVar('activerecord_async_call', default=None)


def current_call() -> AsyncCall | None:
    """The async call this thread is running for a task, or None (plain sync code, or the loop)."""
    return _current_call.get()


class _ServingThread:
    """A worker thread blocked in run_awaitable(): it runs the awaited hook's own blocking calls.

    A hook's `await Model.acreate(...)` must not wait for another worker thread: every one of
    them might be blocked in a hook the same way (a deadlock), and the blocked thread already
    holds the call's connection or transaction turn. So the hook's calls are sent back to it.
    """

    __slots__ = ('_inbox', '_lock', '_finished')

    def __init__(self) -> None:
        self._inbox: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._finished = False

    def submit(self, job: Callable[[], T]) -> Future[T] | None:
        """Queue job for this thread; None once the hook ended (a task it started outlived it)."""
        with self._lock:
            if self._finished:
                return None
            future: Future[T] = Future()
            self._inbox.put((future, job))
            return future

    def finish(self) -> None:
        with self._lock:
            self._finished = True
            self._inbox.put(None)   # after every job accepted before

    def serve(self) -> None:
        """Run the jobs sent here until finish() is called."""
        while True:
            item = self._inbox.get()
            if item is None:
                return
            future, job = item
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

    __slots__ = ('pooled', 'thread', 'open')

    def __init__(self, pooled: PooledConnection) -> None:
        self.pooled = pooled
        self.thread = threading.get_ident()
        self.open = True

    def usable(self) -> bool:
        """Whether the calling thread may run statements on the lent connection now."""
        return self.open and self.thread == threading.get_ident()


#: set in the context of a hook awaited by run_awaitable: the thread waiting for it
_serving: ContextVar[_ServingThread | None] = ContextVar('activerecord_serving_thread', default=None)


class Workers:
    """A backend's worker threads, created at the first async call, shut down by close()."""

    def __init__(self, max_workers: int, name: str) -> None:
        self.max_workers = max(1, max_workers)
        self.name = name
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], T]) -> Future[T]:
        """Run job on a worker thread (the one a hook is awaited from, when called from that hook)."""
        serving = _serving.get()
        if serving is not None:
            future = serving.submit(job)
            if future is not None:
                return future
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


def task_context(owner: tuple[int, Any]) -> contextvars.Context:
    """A copy of the calling task's context, marked as a call of that task (for a worker thread)."""
    context = contextvars.copy_context()
    context.run(_current_call.set, AsyncCall(owner, asyncio.get_running_loop()))
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
    loop = None if call is None else call.loop
    if loop is None or loop.is_closed() or _on_loop_thread(loop):
        if isinstance(awaitable, Coroutine):
            awaitable.close()   # never awaited: closed, so Python does not warn about it
        raise ActiveRecordError(
            'an async hook or callable (an `async def`) was reached from synchronous code, which cannot '
            'await it; call the async twin instead (e.g. `await obj.asave()` rather than `obj.save()`)')
    serving = _ServingThread()
    context = contextvars.copy_context()
    context.run(_serving.set, serving)
    outcome: list[asyncio.Future[T]] = []

    def start() -> None:
        task = loop.create_task(_awaited(awaitable), context=context)
        outcome.append(task)
        task.add_done_callback(lambda _: serving.finish())

    loop.call_soon_threadsafe(start)
    serving.serve()
    return outcome[0].result()


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


_NEXT, _CLOSE = 'next', 'close'


class ThreadStream:
    """A sync iterator stepped from the event loop, every step on ONE thread of its own.

    One thread for the stream's whole life, because what a stream holds is tied to a thread: a
    transaction's turn lock is a threading.RLock, and some drivers' cursors dislike hopping. The
    thread runs `open_iterator()` in `context`, then one `next()` per step(); close() (or the
    iterator's end or error) closes the iterator and runs `finish()` there.
    """

    def __init__(self, context: contextvars.Context, open_iterator: Callable[[], Iterator[Any]],
                 finish: Callable[[], None], name: str) -> None:
        self._inbox: queue.SimpleQueue[tuple[Future[Any], str]] = queue.SimpleQueue()
        self._open_iterator = open_iterator
        self._finish = finish
        self._done = False   # the thread has given back what it held (ended, failed or closed)
        self._lock = threading.Lock()   # a request is either queued before _done, or answered at once
        self._thread = threading.Thread(target=context.run, args=(self._serve,), name=name, daemon=True)
        self._thread.start()

    def step(self) -> Future[tuple[bool, Any]]:
        """(True, next item) or (False, None) at the end; the iterator's error is raised."""
        future: Future[tuple[bool, Any]] = Future()
        with self._lock:
            if self._done:
                future.set_result((False, None))
            else:
                self._inbox.put((future, _NEXT))
        return future

    def close(self) -> Future[None]:
        """Close the iterator and give back what it held (a no-op once it ended)."""
        future: Future[None] = Future()
        with self._lock:
            if self._done:
                future.set_result(None)
            else:
                self._inbox.put((future, _CLOSE))
        return future

    def _serve(self) -> None:
        iterator: Iterator[Any] | None = None
        pending: Future[Any] | None = None
        try:
            while True:
                pending, command = self._inbox.get()
                if command == _CLOSE:
                    break
                try:
                    if iterator is None:
                        iterator = self._open_iterator()
                    item = next(iterator)
                except StopIteration:
                    pending.set_result((False, None))
                    pending = None
                    break
                except BaseException as error:
                    pending.set_exception(error)
                    pending = None
                    break
                pending.set_result((True, item))
                pending = None
        finally:
            try:
                close = getattr(iterator, 'close', None)
                if close is not None:
                    close()
            finally:
                try:
                    self._finish()
                finally:
                    if pending is not None:
                        pending.set_result(None)   # the close() request, answered once all is given back
                    with self._lock:
                        self._done = True
                        self._drain()

    def _drain(self) -> None:
        """Answer requests that arrived as the stream ended (the iterator is gone)."""
        while True:
            try:
                future, command = self._inbox.get_nowait()
            except queue.Empty:
                return
            future.set_result(None if command == _CLOSE else (False, None))
