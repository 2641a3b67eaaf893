"""Rendering of a Query into SELECT / UPDATE / DELETE through the dialect's data and hooks.

Every `query` parameter is a `query.Query` (not annotated as one: query.py imports this module).
"""
from __future__ import annotations

import re
from typing import Any, Sequence

from ..backend.dialect import Dialect, SQLContext
from ..errors import ActiveRecordError, NotSupportedError
from .cte import register_ctes
from .tree import Alias, And, Ordering, Raw, clause
from .expressions import ColumnRef, NamedColumn
from .functions import Function
from .model_types import ModelClass
from .result_types import TypedLike
from .sources import render_source

#: a name string in order_by / group_by / select: a field or alias, maybe with ASC/DESC
NAME_PATTERN = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)(?:\s+(ASC|DESC))?\s*$', re.IGNORECASE)
#: the alias of a derived table the query layer wraps around a query (count, paging, unions)
WRAPPER_ALIAS = 'subquery'


class NameRef:
    """A field name or select alias given as a string, resolved when the query renders."""

    __slots__ = ('name', 'descending', 'text', 'method')

    def __init__(self, name: str, descending: bool, text: str, method: str) -> None:
        self.name = name
        self.descending = descending
        self.text = text
        self.method = method

    def __repr__(self) -> str:
        return f'{self.method}({self.text!r})'


def parse_name(text: str, method: str, allow_direction: bool) -> NameRef:
    """Check a name string given to order_by/group_by/select (nothing else is accepted)."""
    match = NAME_PATTERN.match(text)
    if match is None or (match.group(2) and not allow_direction):
        extra = ', optionally followed by ASC or DESC' if allow_direction else ''
        raise ActiveRecordError(
            f'{method}({text!r}): a string here must be a field name or a select alias{extra}; '
            f'write SQL as activerecord.raw({text!r}) or use Model.c.<field>')
    return NameRef(match.group(1), (match.group(2) or '').upper() == 'DESC', text, method)


def _alias_map(select: Sequence[Any] | None) -> dict[str, Any]:
    if not select:
        return {}
    return {item.name: item for item in select if isinstance(item, Alias)}


def _unknown_name(query: Any, ref: NameRef, aliases: Sequence[str]) -> ActiveRecordError:
    fields = ', '.join(query.model.__meta__.fields)
    alias_text = f'; select aliases: {", ".join(aliases)}' if aliases else ''
    return ActiveRecordError(f'{ref.method}({ref.text!r}): {ref.name!r} is neither a field of '
                             f'{query.model.__name__} (fields: {fields}) nor a select alias{alias_text}')


def resolve_field(query: Any, ref: NameRef) -> ColumnRef:
    """A name as a field of the query's model."""
    fields = query.model.__meta__.fields
    if ref.name not in fields:
        raise ActiveRecordError(f'{ref.method}({ref.text!r}): {query.model.__name__} has no field {ref.name!r}; '
                                f'its fields are: {", ".join(fields)}')
    column: ColumnRef = getattr(query.model.c, ref.name)
    return column


def resolve_order(query: Any, item: Any) -> Any:
    """An ORDER BY item: a select alias by name, else a field; directions become Ordering."""
    if not isinstance(item, NameRef):
        return item
    aliases = _alias_map(query._select)
    if item.name in aliases:
        target: Any = aliases[item.name]   # renders as the bare alias in ORDER BY
    elif item.name in query.model.__meta__.fields:
        target = getattr(query.model.c, item.name)
    else:
        raise _unknown_name(query, item, list(aliases))
    return Ordering(target, item.descending)


def resolve_group(query: Any, item: Any, dialect: Any) -> Any:
    """A GROUP BY item: an alias is its select position where the database takes one, else its expression."""
    if not isinstance(item, NameRef):
        return item
    aliases = _alias_map(query._select)
    if item.name in aliases:
        alias = aliases[item.name]
        if dialect.group_by_position:
            # GROUP BY n, the n-th select item: the expression itself would carry its own copies
            # of any bound values, which PostgreSQL does not see as the select list's expression.
            return Raw(str(next(index for index, selected in enumerate(query._select, 1)
                                if selected is alias)))
        return alias.expression
    if item.name in query.model.__meta__.fields:
        return getattr(query.model.c, item.name)
    raise _unknown_name(query, item, list(aliases))


def select_items(query: Any) -> tuple[Any, ...]:
    """The select list: the explicit one, or every column of the model."""
    select: tuple[Any, ...] | None = query._select
    if select is not None:
        return select
    return tuple(query.model.c)


_model_columns: dict[tuple[ModelClass, type[Dialect]], str] = {}


def _model_columns_sql(model: ModelClass, dialect: Dialect) -> str:
    """The default select list of a model ("t"."a", "t"."b", ...), built once per dialect class."""
    key = (model, type(dialect))
    text = _model_columns.get(key)
    if text is None:
        scratch = SQLContext(dialect)
        scratch.join(model.c)
        text = _model_columns[key] = ''.join(scratch.parts)
    return text


def check_lock(ctx: SQLContext, lock: tuple[bool, bool] | None) -> bool:
    """Whether a FOR UPDATE clause is written (never on a database without row locks)."""
    if lock is None:
        return False
    features = ctx.dialect.features
    if not features.for_update:
        return False  # SQLite: a write transaction already holds the database's only lock
    nowait, skip_locked = lock
    if nowait and not features.for_update_nowait:
        raise NotSupportedError(f'{ctx.dialect.name} does not support for_update(nowait=True)')
    if skip_locked and not features.for_update_skip_locked:
        raise NotSupportedError(f'{ctx.dialect.name} does not support for_update(skip_locked=True)')
    return True


def render_conditions(ctx: SQLContext, keyword: str, conditions: Sequence[Any], name: str) -> None:
    """' WHERE a AND b' (one condition is written without parentheses)."""
    if not conditions:
        return
    with clause(ctx, name):
        ctx.literal(keyword)
        ctx.sql(conditions[0] if len(conditions) == 1 else And(*conditions))


def render_select(ctx: SQLContext, query: Any, columns: Sequence[Any] | None = None,
                  order: bool = True, paging: bool = True, lock: bool = True) -> None:
    """SELECT ... FROM ... (the query's default scopes applied first)."""
    query = query.scoped()
    dialect = ctx.dialect
    # typed_rows: this SELECT's rows are the result, read converted by its items' result types
    # (render_statement); inside it (subqueries, CTEs, derived tables) none is. Its select list tells
    # each item it is one, and its GROUP BY (which must name what is selected) is told too.
    typed = ctx.state.get('typed_rows', False)
    # typing_query: where a typed aggregate finds the CTEs and derived tables its argument reads
    with clause(ctx, None, unqualified=False, typing_query=query, typed_rows=False):
        register_ctes(ctx, query._ctes)
        order_items = tuple(resolve_order(query, item) for item in query._order_by) if order else ()
        limit, offset = (query._limit, query._offset) if paging else (None, None)
        ctx.literal('SELECT DISTINCT ' if query._distinct else 'SELECT ')
        if paging:
            dialect.render_top(ctx, limit, offset, bool(order_items))
        if columns is None and query._select is None:
            ctx.literal(_model_columns_sql(query.model, dialect))
        else:
            items = columns if columns is not None else select_items(query)
            if typed:
                _render_typed_items(ctx, items)
            else:
                with clause(ctx, 'select'):
                    ctx.join(items)
        ctx.literal(' FROM ')
        render_from(ctx, query)
        locking = lock and check_lock(ctx, query._lock)
        if locking:
            dialect.render_table_lock_hint(ctx, *query._lock)
        for join in query._joins:
            ctx.sql(join)
        render_conditions(ctx, ' WHERE ', query._where, 'where')
        if query._group_by:
            with clause(ctx, 'group', typed_group=typed):
                ctx.literal(' GROUP BY ').join(resolve_group(query, item, dialect) for item in query._group_by)
        render_conditions(ctx, ' HAVING ', query._having, 'having')
        if order_items:
            with clause(ctx, 'order'):
                ctx.literal(' ORDER BY ').join(
                    item if isinstance(item, Ordering) else Ordering(item) for item in order_items)
        if limit is not None or offset:
            dialect.render_paging(ctx, limit, offset, bool(order_items))
        if locking:
            dialect.render_for_update(ctx, *query._lock)


def _render_typed_items(ctx: SQLContext, items: Sequence[Any]) -> None:
    """The select list of a SELECT whose rows are the result: `select_item` names the item being
    rendered (an alias's expression), so that a node can tell it is the item, not a part of one."""
    for index, item in enumerate(items):
        if index:
            ctx.literal(', ')
        with clause(ctx, 'select', select_item=item.expression if isinstance(item, Alias) else item):
            ctx.sql(item)


def render_from(ctx: SQLContext, query: Any) -> None:
    """The model's table, or from_()'s source under the table's name (so Model.c still works)."""
    source = query._source
    if source is None:
        render_source(ctx, query.model)
        return
    table_name = query.model.__meta__.table_name.split('.')[-1]
    if hasattr(source, '__from_sql__'):      # table('cte_name')
        source.__from_sql__(ctx)
    else:                                    # a query
        with clause(ctx, 'subquery'):
            ctx.sql(source)
    ctx.literal(ctx.dialect.table_alias_keyword + ctx.dialect.quote(table_name))


def needs_wrapping(query: Any) -> bool:
    """Whether an aggregate over the query must read it as a derived table."""
    return bool(query._distinct or query._group_by or query._having or query._limit is not None
                or query._offset)


def render_aggregate(ctx: SQLContext, query: Any, function: str, expression: Any) -> None:
    """SELECT FN(expression) over the query's rows (COUNT(*) when expression is None)."""
    query = query.scoped()
    if not needs_wrapping(query):
        call = Function(function, () if expression is None else (expression,))
        render_select(ctx, query, columns=(call.as_('value'),), order=False, paging=False, lock=False)
        return
    paged = query._limit is not None or bool(query._offset)
    inner_columns = None if expression is None else (Alias(expression, 'value'),)
    if function == 'count' and expression is None:
        outer: Any = Function('count', ())
    else:
        # typed like the expression: SQLite sums a Decimal column exactly through the derived table too
        outer = Function(function, (TypedLike(_wrapper_column('value'), expression),))
    ctx.literal('SELECT ')
    with clause(ctx, 'select'):
        ctx.sql(outer.as_('value'))
    ctx.literal(' FROM (')
    with clause(ctx, 'subquery'):
        render_select(ctx, query, columns=inner_columns, order=paged, lock=False)
    ctx.literal(')' + ctx.dialect.table_alias_keyword + ctx.dialect.quote(WRAPPER_ALIAS))


def _wrapper_column(name: str) -> Any:
    return NamedColumn(WRAPPER_ALIAS, name)


def _needs_key_subquery(query: Any) -> bool:
    return bool(query._joins or query._source is not None or needs_wrapping(query) or query._order_by)


def render_dml_where(ctx: SQLContext, query: Any) -> None:
    """WHERE of UPDATE/DELETE; joins, paging or grouping select the keys in a derived table."""
    if not _needs_key_subquery(query):
        render_conditions(ctx, ' WHERE ', query._where, 'where')
        return
    primary_key = query.model.__meta__.primary_key
    if not primary_key:
        raise ActiveRecordError(f'{query.model.__name__} has no primary key: update_all/delete_all '
                                'cannot be combined with joins, ordering or paging')
    keys = tuple(getattr(query.model.c, name) for name in primary_key)
    with clause(ctx, 'where'):
        ctx.literal(' WHERE ')
        if len(keys) == 1:
            ctx.sql(keys[0])
        else:
            ctx.literal('(').join(keys).literal(')')
        # MySQL cannot read the updated table in a subquery of the same statement unless the
        # subquery is a derived table; the extra level costs the others nothing.
        ctx.literal(' IN (SELECT ')
        ctx.join(_wrapper_column(key.column) for key in keys)
        ctx.literal(' FROM (')
        with clause(ctx, 'subquery'):
            paged = query._limit is not None or bool(query._offset)
            render_select(ctx, query, columns=keys, order=paged, lock=False)
        ctx.literal(')' + ctx.dialect.table_alias_keyword + ctx.dialect.quote(WRAPPER_ALIAS) + ')')


def render_update(ctx: SQLContext, query: Any, assignments: Sequence[tuple[str, Any]]) -> None:
    """UPDATE table SET column = value, ... WHERE ..."""
    query = query.scoped()
    register_ctes(ctx, query._ctes)
    dialect = ctx.dialect
    ctx.literal('UPDATE ' + dialect.quote_table(query.model.__meta__.table_name) + ' SET ')
    with clause(ctx, 'set'):
        for index, (column, node) in enumerate(assignments):
            if index:
                ctx.literal(', ')
            ctx.identifier(column).literal(' = ').sql(node)
    render_dml_where(ctx, query)


def render_delete(ctx: SQLContext, query: Any) -> None:
    """DELETE FROM table WHERE ..."""
    query = query.scoped()
    register_ctes(ctx, query._ctes)
    ctx.literal('DELETE FROM ' + ctx.dialect.quote_table(query.model.__meta__.table_name))
    render_dml_where(ctx, query)
