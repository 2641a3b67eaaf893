"""find_one / find_one_or_fail / find_all: primary-key and equality lookups.

A lookup by one key value runs the cached SELECT of the model's Statements (the hot path), as
does one on a soft-delete model (its scope is part of that cached text). Every other lookup is
a Query, so the query layer's rules for a value (None: IS NULL, a list: IN, an empty list:
nothing) and for default scopes are the only ones; results are ordered by primary key. The
query layer compiles such a lookup once per condition shape (its field names, and per value
None, one value or a list of n); later lookups of that shape bind their values to that SQL.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence, cast

from typing_extensions import Self  # typing.Self from 3.11; pydantic depends on typing_extensions

from ..backend.base import StorageBackend
from ..backend.dialect import Dialect
from ..errors import ActiveRecordError, RecordNotFound
from ..query import Query, and_, or_
from .metadata import ModelAttributes
from .schema_check import plan_for
from .statements import Binder, Statements

_SOFT_DELETE_SCOPE = 'soft_delete'
_COLLECTIONS = (list, tuple, set, frozenset)   # compared with IN, as Query.where(field=[...]) does
_ONE = -1   # the shape of a value compared with =; None's shape is None, a list's its length
_PLAIN = frozenset({str, int, float, bool, bytes})   # never SQL expressions: no __sql__ to look for


class FinderMixin(ModelAttributes):
    """Class-level lookups of ActiveRecord."""

    __slots__ = ()

    @classmethod
    def find_one(cls, condition: Any) -> Self | None:
        """The record with this primary key (a tuple for composite keys) or matching a dict; else None."""
        backend, statements = plan_for(cls)
        if statements.single_pk_pair is not None and not cls.__default_scopes__ \
                and not isinstance(condition, (dict, tuple, list)):
            # the hot path: one key value, no scopes, the cached SELECT
            convert = statements.single_pk_pair[1]
            if convert is not None and condition is not None:
                condition = _convert(cls, statements.single_pk_pair[0], convert, condition)
            labels, rows = backend.query_rows(statements.select_by_pk_sql, (condition,))
            if not rows:
                return None
            # the labels of this SELECT are the same every time: their builder is kept beside it
            plan = statements.key_plan
            if plan is None or plan[0] != labels:
                plan = statements.key_plan = (labels, statements.one_row_builder(labels))
            loaded: Self = plan[1](rows[0])
            return loaded
        if isinstance(condition, dict):   # (isinstance() leaves its values unknown to pyright: any values)
            found = _find(cls, backend, statements, condition, limit=1)  # pyright: ignore[reportUnknownArgumentType]
            return found[0] if found else None
        key = _key_values(cls, statements, condition)
        variant = _scope_variant(cls)   # the cached SELECT by key with the soft-delete scope, or None
        sql = None if variant is None else statements.select_live_by_pk_sql if variant else statements.select_by_pk_sql
        if sql is None:
            found = _find(cls, backend, statements, dict(zip(statements.pk_names, key)), limit=1)
            return found[0] if found else None
        try:
            params = [value if value is None or convert is None else convert(value)
                      for value, (_, convert) in zip(key, statements.pk_pairs)]
        except Exception:
            params = [_convert(cls, name, convert, value) for value, (name, convert) in zip(key, statements.pk_pairs)]
        labels, rows = backend.query_rows(sql, params)
        if not rows:
            return None
        record: Self = statements.one_row_builder(labels)(rows[0])
        return record

    @classmethod
    def find_one_or_fail(cls, condition: Any) -> Self:
        """Like find_one, but raises RecordNotFound when nothing matches."""
        record = cls.find_one(condition)
        if record is None:
            raise RecordNotFound(f'{cls.__name__} not found: no row with {_describe_condition(cls, condition)}')
        return record

    @classmethod
    def find_all(cls, condition: Any = None) -> list[Self]:
        """Every record (no argument), those with these primary keys (a list), or matching a dict."""
        backend, statements = plan_for(cls)
        if condition is None:
            return _find(cls, backend, statements, {}, limit=None)
        # isinstance() leaves the items unknown to checkers: values and keys of any type
        if isinstance(condition, dict):
            return _find(cls, backend, statements, condition, limit=None)  # pyright: ignore[reportUnknownArgumentType]
        if isinstance(condition, (list, tuple, set, frozenset)):
            return _find_keys(cls, backend, statements, list(condition))  # pyright: ignore[reportUnknownArgumentType]
        raise ActiveRecordError(f'{cls.__name__}.find_all({condition!r}): expected nothing, a list of primary '
                                'keys or a dict of field -> value')


def _key_values(cls: type[ModelAttributes], statements: Statements, key: Any) -> tuple[Any, ...]:
    names = statements.pk_names
    if not isinstance(key, (tuple, list)):
        if len(names) == 1:
            return (key,)
        raise _composite_key_error(cls, names, key)
    # isinstance() leaves the items unknown to pyright: key values of any type
    items: tuple[Any, ...] | list[Any] = key  # pyright: ignore[reportUnknownVariableType]
    if len(names) == 1:
        if len(items) != 1:
            raise ActiveRecordError(f'{cls.__name__}: primary key {names[0]!r} is one value, got {key!r}')
        return (items[0],)
    if len(items) != len(names):
        raise _composite_key_error(cls, names, key)
    return tuple(items)


def _composite_key_error(cls: type[ModelAttributes], names: tuple[str, ...], key: Any) -> ActiveRecordError:
    return ActiveRecordError(f'{cls.__name__}: the primary key is ({", ".join(names)}); pass a tuple of '
                             f'{len(names)} values or a dict, got {key!r}')


def _scope_variant(cls: type[ModelAttributes]) -> str | None:
    """'' without default scopes, 'live' with only the soft-delete one, None for any other (per call)."""
    scopes = cls.__default_scopes__
    if not scopes:
        return ''
    return 'live' if set(scopes) == {_SOFT_DELETE_SCOPE} else None


def _convert(cls: type[ModelAttributes], name: str, convert: Any, value: Any) -> Any:
    if value is None or convert is None:
        return value
    try:
        return convert(value)
    except Exception as error:
        raise ActiveRecordError(f'{cls.__name__}.{name}: cannot compare with {type(value).__name__} value '
                                f'{value!r:.80} ({error})') from error


def _find(cls: type[ModelAttributes], backend: StorageBackend, statements: Statements, condition: dict[str, Any],
          limit: int | None) -> list[Any]:
    """The records whose fields equal `condition`, by primary key (the query layer's equality rules)."""
    variant = _scope_variant(cls)
    shape: list[Any] | None = None
    if variant is not None:
        shape = [variant, limit]
        collection_fields = statements.collection_fields
        for name, value in condition.items():
            shape.append(name)
            # (isinstance() leaves the items unknown to pyright: a list of any values)
            shape.append(None if value is None else len(value)  # pyright: ignore[reportUnknownArgumentType]
                         if isinstance(value, _COLLECTIONS) and name not in collection_fields else _ONE)

    def binders() -> tuple[Binder, ...]:
        assert shape is not None   # _run asks for binders only when the lookup has a shape
        return tuple((getattr(cls.c, name), kind) for name, kind in zip(shape[2::2], shape[3::2]))

    def query() -> Query[Any]:
        fields = cls.__meta__.fields
        unknown = next((name for name in condition if name not in fields), None)
        if unknown is not None:
            raise ActiveRecordError(f'{cls.__name__} has no field {unknown!r}; fields: {", ".join(fields)}')
        found = cls.query().where(**condition).order_by(*cls.__meta__.primary_key)
        return found if limit is None else found.limit(limit)
    return _run(backend, statements, None if shape is None else tuple(shape), binders, condition.values(), query)


def _run(backend: StorageBackend, statements: Statements, shape: tuple[Any, ...] | None,
         binders: Callable[[], tuple[Binder, ...]], values: Iterable[Any],
         query: Callable[[], Query[Any]]) -> list[Any]:
    """The records of `query()`, whose SQL is compiled once per `shape` (None: every time) and cached."""
    plan = statements.finds.get(shape) if shape is not None else None
    if plan is not None:
        sql, cached_binders, tail = plan
        bound = _bind(cached_binders, backend.dialect, values)
        if bound is not None:
            labels, rows = backend.query_rows(sql, bound + tail)
            return statements.row_builder(labels)(rows)
    sql, params = query().to_sql(backend.dialect)
    if shape is not None and plan is None and len(statements.finds) < 256:
        _remember(statements, shape, sql, params, binders(), values)
    labels, rows = backend.query_rows(sql, params)
    return statements.row_builder(labels)(rows)


def _bind(binders: Sequence[Binder], dialect: Dialect, values: Iterable[Any]) -> list[Any] | None:
    """The parameters of `values` as the query layer binds them; None when one is an SQL expression."""
    params: list[Any] = []
    for (column, kind), value in zip(binders, values):
        if kind is None:
            continue   # IS NULL
        items = (value,) if kind == _ONE else value
        if not _PLAIN.issuperset(map(type, items)) and any(hasattr(item, '__sql__') for item in items):
            return None   # only the query layer renders an expression
        convert = column.field.to_db_for(dialect)
        if convert is None:
            params.extend(items)
            continue
        try:
            params.extend([convert(item) for item in items])
        except Exception:   # the query layer's own error for the value (DataError: cannot bind ...)
            params.extend([column.to_db(dialect, item) for item in items])
    return params


def _remember(statements: Statements, shape: tuple[Any, ...], sql: str, params: Sequence[Any],
              binders: tuple[Binder, ...], values: Iterable[Any]) -> None:
    """Cache `sql` for `shape` if the query layer bound exactly our values, each to a placeholder of its own."""
    try:
        expected = _bind(binders, statements.dialect, values)
        # where an equal value of a column shares its placeholder ($1 twice), the SQL fits only these values
        owners = [column.name for column, kind in binders if kind is not None
                  for _ in range(1 if kind == _ONE else kind)]
        if expected is None or list(params[:len(expected)]) != expected or (
                statements.dialect.shared_parameters and len(set(zip(owners, expected))) != len(expected)):
            return
    except Exception:   # a value the query layer could render but we cannot bind (or hash): never cached
        return
    statements.finds[shape] = (sql, binders, list(params[len(expected):]))


def _find_keys(cls: type[ModelAttributes], backend: StorageBackend, statements: Statements,
               keys: list[Any]) -> list[Any]:
    if not keys:
        return []
    keys = [_key_values(cls, statements, key) for key in keys]
    try:
        keys = sorted(set(keys))
    except TypeError:
        pass  # unorderable keys: keep the given order
    names = statements.pk_names
    features = backend.features
    chunk = max(1, min(features.max_in_list,
                       (features.max_parameters - 1 - _scope_parameters(cls, statements)) // len(names)))
    found: list[Any] = []
    for start in range(0, len(keys), chunk):
        part = keys[start:start + chunk]
        if len(names) == 1:
            found.extend(_find(cls, backend, statements, {names[0]: [key[0] for key in part]}, None))
        else:
            found.extend(_find_composite(cls, backend, statements, part))
    return found


def _scope_parameters(cls: type[ModelAttributes], statements: Statements) -> int:
    """How many parameters the model's default scopes bind (counted once per set of scopes)."""
    scopes = tuple(cls.__default_scopes__)
    if not scopes:
        return 0
    count = statements.scope_parameters.get(scopes)
    if count is None:
        count = statements.scope_parameters[scopes] = len(cls.query().to_sql(statements.dialect)[1])
    return count


def _find_composite(cls: type[ModelAttributes], backend: StorageBackend, statements: Statements,
                    keys: list[tuple[Any, ...]]) -> list[Any]:
    """(k1 = ? AND k2 = ?) OR ...: one statement for these keys."""
    names = statements.pk_names
    values = [value for key in keys for value in key]
    variant = _scope_variant(cls)
    shape = None if variant is None or None in values else (variant, 'keys', len(keys))

    def binders() -> tuple[Binder, ...]:
        return tuple((getattr(cls.c, name), _ONE) for name in names) * len(keys)

    def query() -> Query[Any]:
        columns = [getattr(cls.c, name) for name in names]
        matches = or_(*(and_(*(column == value for column, value in zip(columns, key))) for key in keys))
        return cls.query().where(matches).order_by(*names)
    return _run(backend, statements, shape, binders, values, query)


def _describe_condition(cls: type[ModelAttributes], condition: Any) -> str:
    # casts: isinstance() leaves the items of a dict/tuple/list unknown to checkers (any values here)
    if isinstance(condition, dict):
        return ', '.join(f'{name}={value!r}' for name, value in cast('dict[str, Any]', condition).items())
    names = cls.__meta__.primary_key
    values: Sequence[Any] = (condition,)
    if isinstance(condition, (tuple, list)) and len(names) > 1:
        values = cast('Sequence[Any]', condition)
    return ', '.join(f'{name}={value!r}' for name, value in zip(names, values))
