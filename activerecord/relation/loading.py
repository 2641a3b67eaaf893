"""Reading the targets of many owners at once: one statement per chunk of keys.

A level of eager loading (and every lazy read, which is the same thing for one owner) asks for
`target.<field> IN (keys)`. The keys are split so that no statement carries more values in its
IN list than `features.max_in_list`, nor more bound parameters in all than
`features.max_parameters` (the level's own conditions count too).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence, TypeVar, cast

from ..backend.base import StorageBackend
from ..model.base import ActiveRecord
from ..query import Query
from .errors import RelationError

Modifier = Callable[[Any], Any]
T = TypeVar('T', bound=ActiveRecord)


def distinct_keys(values: Iterable[Any]) -> list[Any]:
    """The values without None and duplicates, in first-seen order."""
    return [value for value in dict.fromkeys(values) if value is not None]


def level_query(target: type[T], modifier: Modifier | None, order: Sequence[Any], where: str) -> Query[T]:
    """target.query() passed through a with_() modifier, then ordered; `where` names it in errors."""
    query = target.query()
    if modifier is not None:
        modified = modifier(query)
        if not isinstance(modified, Query) or modified.model is not target:  # type: ignore[comparison-overlap] # pyright: ignore[reportUnnecessaryComparison] - a user's modifier may return any query
            raise RelationError(f'the query modifier for {where} must return a query of {target.__name__} '
                                f'(got {modified!r}); write lambda q: q.where(...)')
        query = cast('Query[T]', modified)   # checked just above: a query of the target
    if order:
        query = query.order_by(*order)
    return query


def chunk_size(query: Query[Any], backend: StorageBackend, modified: bool) -> int:
    """How many keys one statement of `query` + `field IN (keys)` may carry on this backend."""
    features = backend.features
    # Only a modifier or a default scope can bind parameters of their own; rendering the query
    # to count them costs as much as the statement's own rendering, so it is done only then.
    used = len(query.to_sql()[1]) if modified or query.model.__default_scopes__ else 0
    size = min(features.max_in_list, features.max_parameters - used)
    if size < 1:
        raise RelationError(f'the query for {query.model.__name__} already binds {used} parameters, which '
                            f'leaves none for the keys (the limit is {features.max_parameters})')
    return size


def fetch(target: type[T], field: str, keys: Sequence[Any], query: Query[T], modified: bool) -> list[T]:
    """Every row of `query` whose `field` is one of `keys`, one statement per chunk of keys."""
    if not keys:
        return []
    column = getattr(target.c, field)
    size = chunk_size(query, target.backend(), modified)
    if len(keys) <= size:
        return query.where(column.in_(keys)).all()
    found: list[T] = []
    for start in range(0, len(keys), size):
        found.extend(query.where(column.in_(keys[start:start + size])).all())
    return found


def group(targets: Iterable[Any], field: str) -> dict[Any, list[Any]]:
    """Targets by the value of `field`, each list in the order the targets came."""
    groups: dict[Any, list[Any]] = {}
    for target in targets:
        key = getattr(target, field)
        bucket = groups.get(key)
        if bucket is None:
            groups[key] = [target]
        else:
            bucket.append(target)
    return groups
