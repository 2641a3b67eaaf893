"""Per-instance relation caches, kept in the instance __dict__ outside the pydantic fields.

pydantic ignores __dict__ keys that are not fields in validation, dumps, repr and equality.
Each loaded relation is one key, '<prefix><name>' -> (key, value), where `key` is the value the
relation was loaded for (the foreign or primary key): a changed key means the value is stale.
One key per relation (not one shared dict) keeps model_copy() copies independent.
"""
from __future__ import annotations

from typing import Any

_PREFIX = '__ar_relation__'
MISSING: Any = object()


def slot(name: str) -> str:
    """The instance __dict__ key relation `name` is cached under (for lookup())."""
    return _PREFIX + name


def lookup(instance: Any, slot_key: str, key: Any) -> Any:
    """get() with the __dict__ key already made by slot(): a relation read answers from here."""
    entry = instance.__dict__.get(slot_key)
    if entry is None or entry[0] != key:
        return MISSING
    return entry[1]


def store(instance: Any, slot_key: str, key: Any, value: Any) -> None:
    """put() with the __dict__ key already made by slot()."""
    instance.__dict__[slot_key] = (key, value)


def get(instance: Any, name: str, key: Any) -> Any:
    """The cached value of relation `name` if it was loaded for `key`, else MISSING."""
    entry = instance.__dict__.get(_PREFIX + name)
    if entry is None or entry[0] != key:
        return MISSING
    return entry[1]


def peek(instance: Any, name: str) -> Any:
    """The cached value of relation `name` whatever key it was loaded for, else MISSING."""
    entry = instance.__dict__.get(_PREFIX + name)
    return MISSING if entry is None else entry[1]


def put(instance: Any, name: str, key: Any, value: Any) -> None:
    """Cache `value` as relation `name` loaded for `key`."""
    instance.__dict__[_PREFIX + name] = (key, value)


def clear(instance: Any, name: str | None = None) -> None:
    """Forget one cached relation, or all of them."""
    state = instance.__dict__
    if name is not None:
        state.pop(_PREFIX + name, None)
        return
    for entry in [entry for entry in state if isinstance(entry, str) and entry.startswith(_PREFIX)]:
        del state[entry]
