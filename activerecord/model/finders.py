"""find_one / find_one_or_fail / find_all: primary-key and equality lookups.

Lookups build their SQL here (cached per model and dialect for the by-key form) and order by
primary key. A model's default scopes apply: the soft-delete scope is added as SQL directly;
any other default scope sends the lookup through Query, which owns scopes.
"""
from __future__ import annotations

from typing import Any, Iterable

from ..backend.dialect import SQLContext
from ..errors import ActiveRecordError, RecordNotFound
from .config import _resolved
from .metadata import _metas
from .schema_check import checked_statements, ensure_checked
from .statements import Statements, statements_for

_SOFT_DELETE_SCOPE = 'soft_delete'


class FinderMixin:
    """Class-level lookups of ActiveRecord."""

    __slots__ = ()

    @classmethod
    def find_one(cls, condition: Any) -> Any:
        """The record with this primary key (a tuple for composite keys) or matching a dict; else None."""
        try:
            backend = _resolved[cls]
        except KeyError:
            backend = cls.backend()
        meta = _metas.get(cls) or cls.__meta__
        statements = meta.plans.get(type(backend.dialect)) or statements_for(meta, backend.dialect)
        if statements.checked_on is not backend:
            ensure_checked(statements, backend)
        if statements.single_pk_pair is not None and not cls.__default_scopes__ \
                and not isinstance(condition, (dict, tuple, list)):
            # the hot path: one key value, no scopes, the cached SELECT
            convert = statements.single_pk_pair[1]
            if convert is not None and condition is not None:
                condition = _convert(cls, statements.single_pk_pair[0], convert, condition)
            labels, rows = backend.query_rows(statements.select_by_pk_sql, (condition,))
            return statements.row_builder(labels)(rows)[0] if rows else None
        if isinstance(condition, dict):
            found = _find(cls, backend, statements, condition, limit=1)
            return found[0] if found else None
        key = _key_values(cls, statements, condition)
        scope = _scope_sql(cls, statements)
        if scope is None:
            found = _find(cls, backend, statements, dict(zip(statements.pk_names, key)), limit=1)
            return found[0] if found else None
        sql = statements.select_by_pk_sql if not scope else statements.select_by_pk_sql + ' AND ' + scope
        try:
            params = [value if value is None or convert is None else convert(value)
                      for value, (_, convert) in zip(key, statements.pk_pairs)]
        except Exception:
            params = [_convert(cls, name, convert, value) for value, (name, convert) in zip(key, statements.pk_pairs)]
        labels, rows = backend.query_rows(sql, params)
        if not rows:
            return None
        return statements.row_builder(labels)(rows[:1])[0]

    @classmethod
    def find_one_or_fail(cls, condition: Any) -> Any:
        """Like find_one, but raises RecordNotFound when nothing matches."""
        record = cls.find_one(condition)
        if record is None:
            raise RecordNotFound(f'{cls.__name__} not found: no row with {_describe_condition(cls, condition)}')
        return record

    @classmethod
    def find_all(cls, condition: Any = None) -> list[Any]:
        """Every record (no argument), those with these primary keys (a list), or matching a dict."""
        backend = cls.backend()
        statements = checked_statements(cls.__meta__, backend)
        if condition is None:
            return _find(cls, backend, statements, {}, limit=None)
        if isinstance(condition, dict):
            return _find(cls, backend, statements, condition, limit=None)
        if isinstance(condition, (list, tuple, set, frozenset)):
            return _find_keys(cls, backend, statements, list(condition))
        raise ActiveRecordError(f'{cls.__name__}.find_all({condition!r}): expected nothing, a list of primary '
                                'keys or a dict of field -> value')


def _key_values(cls: type, statements: Statements, key: Any) -> tuple[Any, ...]:
    names = statements.pk_names
    if len(names) == 1:
        if isinstance(key, (tuple, list)):
            if len(key) != 1:
                raise ActiveRecordError(f'{cls.__name__}: primary key {names[0]!r} is one value, got {key!r}')
            key = key[0]
        return (key,)
    if not isinstance(key, (tuple, list)) or len(key) != len(names):
        raise ActiveRecordError(f'{cls.__name__}: the primary key is ({", ".join(names)}); pass a tuple of '
                                f'{len(names)} values or a dict, got {key!r}')
    return tuple(key)


def _scope_sql(cls: type, statements: Statements) -> str | None:
    """'' without scopes, the soft-delete condition, or None when another scope needs Query."""
    scopes = cls.__default_scopes__
    if not scopes:
        return ''
    if set(scopes) == {_SOFT_DELETE_SCOPE} and cls.__soft_delete_field__:
        column = statements.meta.fields[cls.__soft_delete_field__].column
        return f'{statements.dialect.quote(column)} IS NULL'
    return None


def _conditions(cls: type, statements: Statements, condition: dict) -> tuple[list[str], list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    fields, dialect = statements.meta.fields, statements.dialect
    for name, value in condition.items():
        field = fields.get(name)
        if field is None:
            raise ActiveRecordError(f'{cls.__name__} has no field {name!r}; fields: {", ".join(fields)}')
        column = dialect.quote(field.column)
        convert = field.raw_to_db(dialect)
        if value is None:
            parts.append(f'{column} IS NULL')
        elif isinstance(value, (list, tuple, set, frozenset)) and not field.mutable:
            items = list(value)
            if not items:
                parts.append('1 = 0')
                continue
            parts.append(f'{column} IN (' + ', '.join(['?'] * len(items)) + ')')
            params.extend(_convert(cls, name, convert, item) for item in items)
        else:
            parts.append(f'{column} = ?')
            params.append(_convert(cls, name, convert, value))
    return parts, params


def _convert(cls: type, name: str, convert: Any, value: Any) -> Any:
    if value is None or convert is None:
        return value
    try:
        return convert(value)
    except Exception as error:
        raise ActiveRecordError(f'{cls.__name__}.{name}: cannot compare with {type(value).__name__} value '
                                f'{value!r:.80} ({error})') from error


def _find(cls: type, backend: Any, statements: Statements, condition: dict, limit: int | None) -> list[Any]:
    scope = _scope_sql(cls, statements)
    if scope is None:
        return _find_through_query(cls, condition, limit)
    parts, params = _conditions(cls, statements, condition)
    if scope:
        parts.append(scope)
    ctx = SQLContext(statements.dialect)
    ctx.literal(f'SELECT {statements.select_list} FROM {statements.quoted_table}')
    if parts:
        ctx.literal(' WHERE ' + ' AND '.join(parts))
    ctx.literal(' ORDER BY ' + statements.order_by_pk)
    if limit is not None:
        statements.dialect.render_paging(ctx, limit, None, True)
    sql, paging = ctx.finish()
    labels, rows = backend.query_rows(sql, params + list(paging))
    return statements.row_builder(labels)(rows)


def _find_through_query(cls: type, condition: dict, limit: int | None) -> list[Any]:
    query = cls.query()
    fields = cls.__meta__.fields
    for name, value in condition.items():
        if name not in fields:
            raise ActiveRecordError(f'{cls.__name__} has no field {name!r}; fields: {", ".join(fields)}')
        column = getattr(cls.c, name)
        if value is None:
            query = query.where(column.is_null())
        elif isinstance(value, (list, tuple, set, frozenset)) and not fields[name].mutable:
            query = query.where(column.in_(list(value)))
        else:
            query = query.where(column == value)
    query = query.order_by(*cls.__meta__.primary_key)
    if limit is not None:
        query = query.limit(limit)
    return query.all()


def _find_keys(cls: type, backend: Any, statements: Statements, keys: list[Any]) -> list[Any]:
    if not keys:
        return []
    keys = [_key_values(cls, statements, key) for key in keys]
    try:
        keys = sorted(set(keys))
    except TypeError:
        pass  # unorderable keys: keep the given order
    width = len(statements.pk_names)
    features = backend.features
    chunk = max(1, min(features.max_in_list, (features.max_parameters - 1) // width))
    found: list[Any] = []
    for start in range(0, len(keys), chunk):
        part = keys[start:start + chunk]
        if width == 1:
            found.extend(_find(cls, backend, statements, {statements.pk_names[0]: [key[0] for key in part]}, None))
        else:
            found.extend(_find_composite(cls, backend, statements, part))
    return found


def _find_composite(cls: type, backend: Any, statements: Statements, keys: Iterable[tuple]) -> list[Any]:
    scope = _scope_sql(cls, statements)
    if scope is None:
        return [record for key in keys
                for record in _find_through_query(cls, dict(zip(statements.pk_names, key)), None)]
    alternatives, params = [], []
    for key in keys:
        parts, values = _conditions(cls, statements, dict(zip(statements.pk_names, key)))
        alternatives.append('(' + ' AND '.join(parts) + ')')
        params.extend(values)
    sql = (f'SELECT {statements.select_list} FROM {statements.quoted_table} WHERE ('
           + ' OR '.join(alternatives) + ')' + (f' AND {scope}' if scope else '')
           + ' ORDER BY ' + statements.order_by_pk)
    labels, rows = backend.query_rows(sql, params)
    return statements.row_builder(labels)(rows)


def _describe_condition(cls: type, condition: Any) -> str:
    if isinstance(condition, dict):
        return ', '.join(f'{name}={value!r}' for name, value in condition.items())
    names = cls.__meta__.primary_key
    values = condition if isinstance(condition, (tuple, list)) and len(names) > 1 else (condition,)
    return ', '.join(f'{name}={value!r}' for name, value in zip(names, values))
