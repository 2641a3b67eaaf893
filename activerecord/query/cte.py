"""Common table expressions: every CTE of a statement is hoisted into one WITH at its top.

A query anywhere in the tree (a subquery, a set-operation member, another CTE's body) may carry
CTEs; while the statement renders they are collected in `ctx.state['ctes']`, each rendered once
into its own text and parameters, and the statement's WITH clause is written in front of the
body when it is done. SQL Server and Oracle allow WITH only at the top, and one list means one
name space, so a name given twice must name the same query.
"""
from __future__ import annotations

import re
from typing import Any, Callable, NamedTuple, Sequence

from ..backend.dialect import Dialect, SQLContext
from ..errors import ActiveRecordError, NotSupportedError
from .tree import clause

_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')


class CTE(NamedTuple):
    """One WITH entry as the query builder keeps it."""
    name: str
    query: Any
    recursive: bool
    columns: tuple[str, ...] | None


class _Rendered(NamedTuple):
    recursive: bool
    columns: tuple[str, ...] | None
    sql: str
    params: tuple[Any, ...]


def make_cte(name: str, query: Any, recursive: bool, columns: Sequence[str] | None) -> CTE:
    """Check a with_cte() call and build its entry."""
    if not isinstance(name, str) or not _NAME.match(name):  # pyright: ignore[reportUnnecessaryIsInstance]  # user input
        raise ActiveRecordError(f'with_cte(): the name must be an identifier (letters, digits, _), got {name!r}')
    if not hasattr(query, '__subquery_sql__'):
        raise ActiveRecordError(f'with_cte({name!r}, ...) takes a query (Model.query()... or a union), '
                                f'got {type(query).__name__}')
    if columns is not None:
        columns = tuple(columns)
        if not columns or not all(isinstance(column, str) and column for column in columns):  # pyright: ignore[reportUnnecessaryIsInstance]  # user input
            raise ActiveRecordError(f'with_cte({name!r}): columns must be non-empty names, got {columns!r}')
    elif recursive:
        # Oracle and SQL Server need the column list of a recursive CTE; name it from the query.
        labels = query.result_labels()
        if labels is None or any(label is None for label in labels):
            raise ActiveRecordError(f'with_cte({name!r}, recursive=True): every selected expression '
                                    'needs a name (use .as_("name")), or pass columns=[...]')
        columns = tuple(labels)
    return CTE(name, query, bool(recursive), columns)


def register_ctes(ctx: SQLContext, ctes: Sequence[CTE]) -> None:
    """Render a query's CTEs into the statement's WITH list (before the query itself renders)."""
    if not ctes:
        return
    registry: dict[str, _Rendered] = ctx.state['ctes']
    for cte in ctes:
        child = SQLContext(ctx.dialect)
        child.state = ctx.state  # CTEs inside the body register themselves first
        with clause(ctx, None, unqualified=False, typed_rows=False):   # a CTE's rows are not the result
            cte.query.__subquery_sql__(child)
        sql, params = child.finish()
        rendered = _Rendered(cte.recursive, cte.columns, sql, params)
        existing = registry.get(cte.name)
        if existing is not None and existing != rendered:
            raise ActiveRecordError(f'two different queries are named {cte.name!r} in one statement\'s '
                                    'WITH clause; give them different names')
        registry[cte.name] = rendered


def render_statement(dialect: Dialect, render_body: Callable[[SQLContext], None],
                     typed_rows: bool = False) -> tuple[str, tuple[Any, ...]]:
    """Render a whole statement: its body, then the WITH list its queries collected, in front.
    typed_rows: its rows are read converted by the result types of the select list (as_dicts(),
    pluck()), which its outermost SELECT may render for that (a JSON path as its JSON text)."""
    state: dict[str, Any] = {'ctes': {}, 'typed_rows': typed_rows}
    body = SQLContext(dialect)
    body.state = state
    render_body(body)
    registry: dict[str, _Rendered] = state['ctes']
    if not registry:
        return body.finish()
    features = dialect.features
    if not features.cte:
        raise NotSupportedError(f'{dialect.name} does not support common table expressions (WITH)')
    recursive = any(entry.recursive for entry in registry.values())
    if recursive and not features.recursive_cte:
        raise NotSupportedError(f'{dialect.name} does not support recursive common table expressions')
    out = SQLContext(dialect)
    out.literal((dialect.recursive_with_keyword if recursive else 'WITH') + ' ')
    for index, (name, entry) in enumerate(registry.items()):
        if index:
            out.literal(', ')
        out.identifier(name)
        if entry.columns:
            out.literal(' (' + ', '.join(dialect.quote(column) for column in entry.columns) + ')')
        out.literal(' AS (' + entry.sql + ')')
        out.params.extend(entry.params)
    out.literal(' ')
    out.parts.extend(body.parts)
    out.params.extend(body.params)
    return out.finish()


def subquery_sql(ctx: SQLContext, render: Callable[[SQLContext], None]) -> None:
    """Render a nested query; outside a statement (no WITH registry) it brings its own WITH."""
    if 'ctes' in ctx.state:
        render(ctx)
        return
    sql, params = render_statement(ctx.dialect, render)
    ctx.literal(sql)
    ctx.params.extend(params)
