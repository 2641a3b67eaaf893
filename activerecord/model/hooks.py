"""Lifecycle hooks: methods a model defines and listeners registered with Model.on(event, fn).

For one event, the hook method runs first (the one Python's method lookup finds), then the
listeners: those registered on base classes before those of the model itself, each group in
the order of registration. A hook receives the record (a method receives it as `self`).

An `async def` hook (method or listener) is awaited when the record is written through the async
API (asave, acreate, adelete): the call runs on a worker thread, which hands the coroutine to the
event loop of the task it serves (backend/aio.py). The sync API cannot await it and refuses with
an error naming the hook. Which hooks are async is decided when the hook table is built, so
models without async hooks run exactly the code they ran before.
"""
from __future__ import annotations

import inspect
import threading
from typing import Any, Callable

from ..backend import aio
from ..errors import ActiveRecordError, ConfigurationError

HOOK_NAMES: tuple[str, ...] = (
    'before_validate', 'after_validate', 'before_save', 'after_save', 'before_create',
    'after_create', 'before_update', 'after_update', 'before_delete', 'after_delete',
)
_HOOK_SET = frozenset(HOOK_NAMES)
#: hooks after a write: when present, save()/delete() run in a transaction so that an error
#: in one of them undoes the write
AFTER_WRITE = frozenset({'after_save', 'after_create', 'after_update', 'after_delete'})

_lock = threading.Lock()
_listeners: dict[type, dict[str, list[Callable[[Any], Any]]]] = {}
#: a model's hook table: event -> the callables to run, in order (what hook_table() returns)
HookTable = dict[str, tuple[Callable[[Any], Any], ...]]
#: model -> its hook table, built on first use (save() reads it here without a call)
table_cache: dict[type, HookTable] = {}


def add_listener(model: type, event: str, fn: Callable[[Any], Any]) -> None:
    """Register fn(record) for event on model (and its subclasses)."""
    if event not in _HOOK_SET:
        raise ConfigurationError(f'{model.__name__}.on({event!r}, ...): unknown event; expected one of '
                                 f'{", ".join(HOOK_NAMES)}')
    if not callable(fn):
        raise ConfigurationError(f'{model.__name__}.on({event!r}, {fn!r}): the listener must be callable')
    with _lock:
        _listeners.setdefault(model, {}).setdefault(event, []).append(fn)
        table_cache.clear()  # subclasses inherit listeners: every table may have changed


def remove_listener(model: type, event: str, fn: Callable[[Any], Any]) -> None:
    """Unregister a listener added with add_listener (ValueError if it is not registered)."""
    with _lock:
        try:
            _listeners.get(model, {}).get(event, []).remove(fn)
        except ValueError:
            raise ValueError(f'{fn!r} is not a {event!r} listener of {model.__name__}') from None
        table_cache.clear()


def hook_table(model: type) -> dict[str, tuple[Callable[[Any], Any], ...]]:
    """event -> the callables to run, in order (events without any are absent)."""
    table = table_cache.get(model)
    if table is None:
        table = _build(model)
        with _lock:
            table_cache[model] = table
    return table


def _build(model: type) -> dict[str, tuple[Callable[[Any], Any], ...]]:
    table: dict[str, tuple[Callable[[Any], Any], ...]] = {}
    for event in HOOK_NAMES:
        calls: list[Callable[[Any], Any]] = []
        method = getattr(model, event, None)
        if method is not None:
            if not callable(method):
                raise ConfigurationError(f'{model.__name__}.{event} must be a method, got {method!r}')
            calls.append(method)   # a plain function on the class: called with the record as self
        for klass in reversed(model.__mro__):
            calls.extend(_listeners.get(klass, {}).get(event, ()))
        calls = [AsyncHook(model, event, call) if _is_async(call) else call for call in calls]
        if calls:
            table[event] = tuple(calls)
    return table


def run(table: dict[str, tuple[Callable[[Any], Any], ...]], event: str, record: Any) -> None:
    """Call every hook of one event with the record."""
    for call in table.get(event, ()):
        result = call(record)
        if result is not None and inspect.isawaitable(result):
            # a plain function returning a coroutine (`lambda r: notify(r)`): not seen as async when
            # the table was built; awaited on the async path, refused (and closed) on the sync one
            aio.run_awaitable(result)


def _is_async(call: Callable[[Any], Any]) -> bool:
    """An `async def` function, or an object whose __call__ is one."""
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(getattr(call, '__call__', None))


class AsyncHook:
    """An `async def` hook in a hook table: awaited on the loop of the async call being served."""

    __slots__ = ('model', 'event', 'hook')

    def __init__(self, model: type, event: str, hook: Callable[[Any], Any]) -> None:
        self.model, self.event, self.hook = model, event, hook

    def __call__(self, record: Any) -> None:
        if aio.current_call() is None:
            # refused before the coroutine exists: nothing is left un-awaited
            method = 'adelete()' if self.event.endswith('_delete') else 'asave() or acreate()'
            name = getattr(self.hook, '__qualname__', repr(self.hook))
            raise ActiveRecordError(f'{self.model.__name__} {self.event} hook {name} is async (async def): '
                                    f'the sync API cannot await it; call {method} from async code')
        aio.run_awaitable(self.hook(record))
