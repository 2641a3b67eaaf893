"""Every sync method that talks to the database has its awaitable twin.

The lists below say, per public class, which sync methods run SQL (each must have a twin) and which
do not (builders, configuration). A public method that is in neither list fails the test: a new
method must be classified, and given a twin if it talks to the database.
"""
from __future__ import annotations

import inspect
from typing import Any

import pytest

import activerecord

from activerecord import ActiveRecord
from activerecord.backend.base import StorageBackend
from activerecord.mixins import SoftDeleteMixin
from activerecord.query import CompoundQuery, Query
from activerecord.relation.descriptors import BelongsToAccessor, HasAccessor

from .driver import twin_name

_RESULTS = ('all', 'first', 'one', 'count', 'exists', 'sum', 'avg', 'min', 'max', 'pluck', 'explain', 'iter')
_BUILDERS = ('order_by', 'limit', 'offset', 'as_dicts', 'with_cte', 'as_', 'union', 'union_all', 'intersect',
             'except_', 'to_sql', 'result_items', 'result_labels')
_QUERY_BUILDERS = _BUILDERS + (
    'where', 'having', 'select', 'add_select', 'distinct', 'group_by', 'join', 'left_join', 'right_join',
    'full_join', 'cross_join', 'from_', 'for_update', 'unscoped', 'with_deleted', 'with_', 'scoped',
    'update_sql', 'delete_sql')

#: class -> (sync methods that talk to the database, sync methods that do not)
CLASSES: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {
    ActiveRecord: (
        ('create', 'save', 'delete', 'refresh', 'find_one', 'find_one_or_fail', 'find_all', 'insert_many',
         'upsert', 'create_table', 'drop_table', 'check_schema', 'transaction', 'run_transaction'),
        ('configure', 'backend', 'connected_to', 'query', 'on', 'off', 'create_schema', 'update_schema', 'model_validate',
         'model_validate_json')),
    SoftDeleteMixin: (('restore', 'force_delete'), ('with_deleted',)),
    Query: (_RESULTS + ('update_all', 'delete_all'), _QUERY_BUILDERS),
    CompoundQuery: (_RESULTS, _BUILDERS),
    HasAccessor: (('__call__', 'create', 'add', 'remove', 'set'), ('build', 'query', 'reset')),
    BelongsToAccessor: (('__call__',), ('set', 'query', 'reset')),
}
#: twins that are not coroutine functions: a stream and an async context manager
NOT_COROUTINES = frozenset({'aiter', 'atransaction'})


def _public_methods(cls: type) -> set[str]:
    """Public callables the package defines on the class (pydantic's own, those of another class
    listed here, e.g. a mixin's ActiveRecord, and the twins left out)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is not cls and klass in CLASSES:
            break
        if not klass.__module__.startswith('activerecord.'):
            continue
        for name, value in vars(klass).items():
            if name.startswith('_') or isinstance(value, property):
                continue
            function = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
            if callable(function):
                names.add(name)
    twins = {twin_name(name) for talking, _ in CLASSES.values() for name in talking}
    return names - twins


@pytest.mark.parametrize('cls', list(CLASSES), ids=lambda cls: cls.__name__)
def test_every_method_that_talks_to_the_database_has_a_twin(cls: type) -> None:
    talking, silent = CLASSES[cls]
    missing = [name for name in talking if not callable(getattr(cls, twin_name(name), None))]
    assert missing == [], f'{cls.__name__} lacks the awaitable twins of {missing}'
    not_awaitable = [twin_name(name) for name in talking if twin_name(name) not in NOT_COROUTINES
                     and not inspect.iscoroutinefunction(getattr(cls, twin_name(name)))]
    assert not_awaitable == [], f'{cls.__name__}: {not_awaitable} must be `async def`'
    for name in talking:   # each twin says what it mirrors
        doc = getattr(cls, twin_name(name)).__doc__ or ''
        assert doc.strip(), f'{cls.__name__}.{twin_name(name)} has no docstring'


@pytest.mark.parametrize('cls', list(CLASSES), ids=lambda cls: cls.__name__)
def test_every_public_method_is_classified(cls: type) -> None:
    talking, silent = CLASSES[cls]
    unknown = sorted(_public_methods(cls) - set(talking) - set(silent))
    assert unknown == [], (f'{cls.__name__}: new public methods {unknown}: add each to the list of methods that '
                           'talk to the database (and give it an awaitable twin) or to those that do not')
    stale = sorted((set(talking) | set(silent)) - _public_methods(cls) - {'__call__'})
    assert stale == [], f'{cls.__name__}: {stale} are listed but no longer exist'


def test_the_twins_keep_the_sync_signatures() -> None:
    """A twin takes what its sync method takes (same parameter names, kinds and defaults)."""
    different: list[str] = []
    for cls, (talking, _) in CLASSES.items():
        for name in talking:
            if name in ('__call__', 'transaction', 'run_transaction'):
                continue   # aload(reload) mirrors __call__; the transaction twins take async functions
            sync, twin = _parameters(getattr(cls, name)), _parameters(getattr(cls, twin_name(name)))
            if sync != twin:
                different.append(f'{cls.__name__}.{name}{sync} vs {twin_name(name)}{twin}')
    assert different == []


def _parameters(function: Any) -> list[tuple[str, Any, Any]]:
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [('*' if parameter.kind in variadic else parameter.name, parameter.kind, parameter.default)
            for parameter in inspect.signature(function).parameters.values()]


#: the backend's raw calls and their twins (the backend has many more public methods, hooks for
#: the database adapters, so only this list is checked there)
BACKEND_CALLS = ('execute', 'executemany', 'query_rows', 'fetch_all', 'fetch_one', 'fetch_value', 'execute_script',
                 'ping', 'transaction', 'run_transaction')


def test_the_backend_raw_calls_have_twins() -> None:
    missing = [name for name in BACKEND_CALLS if not callable(getattr(StorageBackend, 'a' + name, None))]
    assert missing == []
    assert callable(getattr(StorageBackend, 'aiter_rows', None)) and callable(StorageBackend.iter_rows)


def test_the_package_level_schema_calls_have_twins() -> None:
    # create_all/drop_all are functions of the package, not methods: listed here by hand, and
    # every other public function the package exports must be one that sends nothing
    talking = {'create_all', 'drop_all'}
    silent = {'func', 'raw', 'value', 'case', 'cast', 'exists', 'and_', 'or_', 'aliased', 'table'}
    twins = {twin_name(name) for name in talking}
    exported = {name for name in activerecord.__all__
                if inspect.isfunction(getattr(activerecord, name)) and name not in twins}
    assert exported - silent - talking == set(), 'a new package function: classify it here'
    for name in talking:
        twin = getattr(activerecord, twin_name(name))
        assert inspect.iscoroutinefunction(twin) and (twin.__doc__ or '').strip()
        assert twin_name(name) in activerecord.__all__
