"""dependent= options of HasOne/HasMany, run by the owner's delete() through lifecycle listeners.

A model that declares a dependent relation gets a before_delete listener (restrict checks
first, then delete / delete_all / nullify) and an after_delete listener (forgets the record's
cached relations). Having an after_delete listener makes the model layer run the hooks and the
DELETE in one transaction, so a failure anywhere leaves the children as they were.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from ..model import hooks
from . import cache
from .errors import DeleteRestrictedError

_lock = threading.Lock()
_registered: set[type] = set()


def register(owner: type, dependents_of: Callable[[type], list[Any]]) -> None:
    """Give `owner` (a model declaring a dependent relation) the delete listeners, once.

    `dependents_of(model)` lists a model's relations that have a dependent= option, restrict
    ones first (the relation descriptors know them; this module does not import them).
    """
    with _lock:
        if owner in _registered:
            return
        _registered.add(owner)
    # Listeners are inherited: only the one of the nearest declaring class acts on a record.
    def before_delete(record: object) -> None:
        if _acts(owner, record):
            run_dependents(record, dependents_of(type(record)))

    def after_delete(record: object) -> None:
        if _acts(owner, record):
            cache.clear(record)

    hooks.add_listener(owner, 'before_delete', before_delete)
    hooks.add_listener(owner, 'after_delete', after_delete)


def _acts(owner: type, record: Any) -> bool:
    return next(klass for klass in type(record).__mro__ if klass in _registered) is owner


def run_dependents(record: Any, relations: list[Any]) -> None:
    """Apply the dependent= option of each relation of the record before the record is deleted."""
    for relation in relations:
        related = relation.query_for(record)
        action = relation.dependent
        if action == 'restrict':
            if related.exists():
                raise DeleteRestrictedError(
                    f'cannot delete {type(record).__name__} {relation.key_of(record)!r}: it still has '
                    f"{relation.name} ({relation.label} is dependent='restrict'); delete or move them first")
        elif action == 'delete':
            for child in related.all():   # each child's own hooks and dependents run
                child.delete()
        elif action == 'delete_all':
            related.delete_all()
        else:  # nullify (the foreign key was checked to be nullable when the relation resolved)
            related.update_all(**{relation.resolve().target_field: None})
        cache.clear(record, relation.name)
