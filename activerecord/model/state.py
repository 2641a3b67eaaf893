"""Record state: new / persisted / deleted, and dirty tracking against a snapshot.

The snapshot is a copy of the field values taken when the record was validated (a new record),
loaded or saved; dict/list values are kept as their JSON text so that changes made in place are
seen. Comparing the current values with it is all that `is_dirty` and `save()` need.

Lean records: a record loaded or inserted without dict/list fields keeps no snapshot of its own
until something is about to change it. Its snapshot is CURRENT ("the values as they are"), and
such records share one read-only private dict (CLEAN) and, when every field was loaded, one
read-only fields set. Whatever writes to a record's state takes `private_state(record)` first,
which gives the record a dict of its own with a real snapshot; `__setattr__` does so before the
value changes. Readers use `read_state`, which never copies.
"""
from __future__ import annotations

import json
import typing
from typing import Any

from pydantic import BaseModel

from ..backend.types import container_from_db, json_dumps, set_items
from .metadata import ModelAttributes
from .pydantic_internals import set_private

NEW, PERSISTED, DELETED = 0, 1, 2


class _Validated:
    """The snapshot of a new record whose values passed validation and were not assigned since."""

    def __repr__(self) -> str:
        return 'VALIDATED'

    def __reduce__(self) -> str:
        return 'VALIDATED'   # unpickles as the module's singleton


VALIDATED: Any = _Validated()


class _Current:
    """The snapshot of a record whose values are as loaded or saved: nothing assigned since."""

    def __repr__(self) -> str:
        return 'CURRENT'

    def __reduce__(self) -> str:
        return 'CURRENT'


CURRENT: Any = _Current()


class _SharedState(dict[str, Any]):
    """The private dict clean records share; writing to it is a bug (take private_state() first)."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError('the state of clean records is shared: write through private_state(record)')

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _refuse  # type: ignore[assignment]
    __ior__ = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return dict, (dict(self),)   # a copy or an unpickled record gets a dict of its own

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return dict(self)


#: the private dict of every clean persisted record without private attributes or dict/list fields
CLEAN: dict[str, Any] = _SharedState({'_ar_snap': CURRENT, '_ar_state': PERSISTED})
_FRESH: dict[str, Any] = _SharedState({'_ar_snap': VALIDATED, '_ar_state': NEW})


class SharedFieldNames(set[str]):
    """One `model_fields_set` for every record loaded with all of its fields.

    pydantic adds an assigned field's name to the set in place, a no-op here (every name is in
    it); any other change in place is refused, since it would reach every sharing record.
    """

    def add(self, name: str) -> None:
        """Accept a name already in the set (pydantic's assignment); refuse a new one."""
        if name not in self:
            self._refuse()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError('model_fields_set of a loaded record is shared by the records of its query: '
                        'replace it with a copy rather than changing it in place')

    discard = remove = pop = clear = update = _refuse
    difference_update = intersection_update = symmetric_difference_update = _refuse
    __ior__ = __iand__ = __isub__ = __ixor__ = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        return set, (list(self),)

    def __copy__(self) -> set[str]:
        return set(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> set[str]:
        return set(self)


def fingerprint(value: Any) -> Any:
    """A comparable copy of a dict/list/set value (its JSON text), for dirty tracking."""
    if value is None:
        return None
    if isinstance(value, (set, frozenset)):
        value = set_items(value)   # one text for equal sets, whatever their iteration order
    try:
        return json_dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def private_state(record: Any) -> dict[str, Any]:
    """The record's own private state dict ('_ar_snap', '_ar_state'), ready to be written.

    A record pydantic constructed has none yet: it is new and its values were just validated.
    A clean record's shared dict, or its CURRENT snapshot, is replaced by its own copy here.
    """
    private: dict[str, Any] | None = record.__pydantic_private__
    if private is None:
        private = {'_ar_snap': VALIDATED, '_ar_state': NEW}
        set_private(record, private)
    elif '_ar_state' not in private:
        private['_ar_snap'] = VALIDATED
        private['_ar_state'] = NEW
    elif private['_ar_snap'] is CURRENT:
        if type(private) is _SharedState:
            private = dict(private)
            set_private(record, private)
        private['_ar_snap'] = record._ar_fingerprint()
    return private


def read_state(record: Any) -> dict[str, Any]:
    """The record's private state for reading only (never copied; do not write to it)."""
    private: dict[str, Any] | None = record.__pydantic_private__
    if private is None or '_ar_state' not in private:
        return _FRESH
    return private


def is_lazy(private: dict[str, Any] | None) -> bool:
    """Whether this private state has no snapshot of its own yet (take private_state() before a change)."""
    return private is not None and private.get('_ar_snap') is CURRENT


def needs_validation(record: Any, private: dict[str, Any]) -> bool:
    """Whether save() must validate: a new record assigned to since, or changed values."""
    snapshot = private['_ar_snap']
    if private['_ar_state'] == NEW:
        return snapshot is not VALIDATED
    if snapshot is None:
        return True
    return bool(record._ar_changed())


class StateMixin(ModelAttributes):
    """is_new_record / is_dirty / changes for ActiveRecord."""

    __slots__ = ()

    def _ar_fingerprint(self) -> dict[str, Any]:
        """A snapshot of the current values (dict/list values as JSON text)."""
        snapshot = self.__dict__.copy()
        mutable = _mutable_cache.get(type(self))
        if mutable is None:
            mutable = _mutable_of(type(self))
        for name in mutable:
            snapshot[name] = fingerprint(snapshot.get(name))
        return snapshot

    def _ar_changed(self) -> list[str]:
        """Field names whose value differs from the snapshot."""
        snapshot = read_state(self)['_ar_snap']
        values = self.__dict__
        meta = type(self).__meta__
        if snapshot is CURRENT:
            return []
        if snapshot is None or snapshot is VALIDATED:
            return list(meta.fields)
        mutable = meta.mutable_fields
        changed: list[str] = []
        for name in meta.fields:
            value = values.get(name)
            old = snapshot.get(name)
            if name in mutable:
                value = fingerprint(value)
            if value is not old and value != old:
                changed.append(name)
        return changed

    @property
    def is_new_record(self) -> bool:
        """True until the record has been inserted (or after it was loaded: False)."""
        state: int = read_state(self)['_ar_state']
        return state == NEW

    @property
    def is_deleted(self) -> bool:
        """True after delete() removed the row (a soft-deleted record is not deleted)."""
        state: int = read_state(self)['_ar_state']
        return state == DELETED

    @property
    def is_dirty(self) -> bool:
        """True when save() would write something: a new record, or a changed field."""
        state = read_state(self)['_ar_state']
        if state == NEW:
            return True
        if state == DELETED:
            return False
        return bool(self._ar_changed())

    @property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        """field -> (old, new) for what save() would write (old is None for a new record)."""
        state = read_state(self)['_ar_state']
        values = self.__dict__
        if state == NEW:
            return {name: (None, values[name]) for name in type(self).__meta__.fields
                    if values.get(name) is not None}
        if state == DELETED:
            return {}
        snapshot = read_state(self)['_ar_snap']
        meta = type(self).__meta__
        mutable = meta.mutable_fields
        result: dict[str, tuple[Any, Any]] = {}
        for name in self._ar_changed():
            old = snapshot.get(name)
            if name in mutable and isinstance(old, str):
                try:
                    old = json.loads(old)
                except ValueError:
                    pass
                else:
                    container = meta.fields[name].spec.container
                    if container is not None:   # a set field: the old value as a set too
                        old = container_from_db(container, None)(old)
            result[name] = (old, values.get(name))
        return result


_mutable_cache: dict[type, tuple[str, ...]] = {}


def _mutable_of(model: type[BaseModel]) -> tuple[str, ...]:
    """dict/list/set fields of a model (without building its metadata: abstract models have none)."""
    names = _mutable_cache.get(model)
    if names is None:
        found: list[str] = []
        for name, info in model.model_fields.items():
            annotation: Any = info.annotation
            for _ in range(3):
                origin = typing.get_origin(annotation)
                if origin is typing.Union or type(annotation).__name__ == 'UnionType':
                    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
                    annotation = args[0] if len(args) == 1 else annotation
                elif origin is typing.Annotated:
                    annotation = annotation.__origin__
                else:
                    break
            if annotation in (dict, list, set) or typing.get_origin(annotation) in (dict, list, set):
                found.append(name)
        names = _mutable_cache[model] = tuple(found)
    return names
