"""Lifecycle hooks: methods a model defines and listeners registered with Model.on(event, fn).

For one event, the hook method runs first (the one Python's method lookup finds), then the
listeners: those registered on base classes before those of the model itself, each group in
the order of registration. A hook receives the record (a method receives it as `self`).
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from ..errors import ConfigurationError

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
_tables: dict[type, dict[str, tuple[Callable[[Any], Any], ...]]] = {}


def add_listener(model: type, event: str, fn: Callable[[Any], Any]) -> None:
    """Register fn(record) for event on model (and its subclasses)."""
    if event not in _HOOK_SET:
        raise ConfigurationError(f'{model.__name__}.on({event!r}, ...): unknown event; expected one of '
                                 f'{", ".join(HOOK_NAMES)}')
    if not callable(fn):
        raise ConfigurationError(f'{model.__name__}.on({event!r}, {fn!r}): the listener must be callable')
    with _lock:
        _listeners.setdefault(model, {}).setdefault(event, []).append(fn)
        _tables.clear()  # subclasses inherit listeners: every table may have changed


def remove_listener(model: type, event: str, fn: Callable[[Any], Any]) -> None:
    """Unregister a listener added with add_listener (ValueError if it is not registered)."""
    with _lock:
        try:
            _listeners.get(model, {}).get(event, []).remove(fn)
        except ValueError:
            raise ValueError(f'{fn!r} is not a {event!r} listener of {model.__name__}') from None
        _tables.clear()


def hook_table(model: type) -> dict[str, tuple[Callable[[Any], Any], ...]]:
    """event -> the callables to run, in order (events without any are absent)."""
    table = _tables.get(model)
    if table is None:
        table = _build(model)
        with _lock:
            _tables[model] = table
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
        if calls:
            table[event] = tuple(calls)
    return table


def run(table: dict[str, tuple[Callable[[Any], Any], ...]], event: str, record: Any) -> None:
    """Call every hook of one event with the record."""
    for call in table.get(event, ()):
        call(record)
