"""Record state: new / persisted / deleted, and dirty tracking against a snapshot.

The snapshot is a copy of the field values taken when the record was validated (a new record),
loaded or saved; dict/list values are kept as their JSON text so that changes made in place are
seen. Comparing the current values with it is all that `is_dirty` and `save()` need.
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
    """The record's private state dict ('_ar_snap', '_ar_state'), created when missing.

    A record pydantic constructed has none yet: it is new and its values were just validated.
    """
    private: dict[str, Any] | None = record.__pydantic_private__
    if private is None:
        private = {'_ar_snap': VALIDATED, '_ar_state': NEW}
        set_private(record, private)
    elif '_ar_state' not in private:
        private['_ar_snap'] = VALIDATED
        private['_ar_state'] = NEW
    return private


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
        snapshot = private_state(self)['_ar_snap']
        values = self.__dict__
        meta = type(self).__meta__
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
        state: int = private_state(self)['_ar_state']
        return state == NEW

    @property
    def is_deleted(self) -> bool:
        """True after delete() removed the row (a soft-deleted record is not deleted)."""
        state: int = private_state(self)['_ar_state']
        return state == DELETED

    @property
    def is_dirty(self) -> bool:
        """True when save() would write something: a new record, or a changed field."""
        state = private_state(self)['_ar_state']
        if state == NEW:
            return True
        if state == DELETED:
            return False
        return bool(self._ar_changed())

    @property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        """field -> (old, new) for what save() would write (old is None for a new record)."""
        state = private_state(self)['_ar_state']
        values = self.__dict__
        if state == NEW:
            return {name: (None, values[name]) for name in type(self).__meta__.fields
                    if values.get(name) is not None}
        if state == DELETED:
            return {}
        snapshot = private_state(self)['_ar_snap']
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
