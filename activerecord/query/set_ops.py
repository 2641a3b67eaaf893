"""UNION / UNION ALL / INTERSECT / EXCEPT of queries.

One CompoundQuery holds one kind of operation, so `a.union(b).intersect(c)` means
(a UNION b) INTERSECT c on every database (SQLite reads mixed chains left to right, the
standard binds INTERSECT tighter). A member that is ordered or paged, or another compound, is
read as a derived table (`SELECT * FROM (...) AS m1`) because SQLite takes no parentheses around
members. Ordering or paging the whole result wraps it the same way, which also gives SQL Server
a plain SELECT to put TOP on.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..backend.dialect import SQLContext
from ..errors import ActiveRecordError, NotSupportedError
from .tree import Alias, Ordering, Raw, clause
from .async_api import AsyncFetching
from .builder import Builder
from .compiler import WRAPPER_ALIAS, NameRef, parse_name
from .cte import CTE, subquery_sql, register_ctes
from .expressions import ColumnRef, NamedColumn
from .functions import Function
from .model_types import ModelClass

_FEATURES = {'intersect': 'intersect', 'except': 'except_'}
_ASSOCIATIVE = frozenset({'union', 'union_all', 'intersect'})


def combine(kind: str, left: Any, right: Any) -> 'CompoundQuery':
    """left <kind> right, flattening chains of the same operation."""
    if not isinstance(right, Builder):
        raise ActiveRecordError(f'{kind}() takes another query, got {type(right).__name__} {right!r}')
    members: list[Any] = []
    sides: list[Any] = [left, right]
    for position, side in enumerate(sides):
        if (isinstance(side, CompoundQuery) and side.kind == kind
                and side._plain()  # pyright: ignore[reportPrivateUsage]  # this module's own class
                and (position == 0 or kind in _ASSOCIATIVE)):
            members.extend(side.members)
        else:
            members.append(side)
    return CompoundQuery(kind, tuple(members), left.model)


class SetOperations:
    """union / union_all / intersect / except_ of a Query or a CompoundQuery."""

    __slots__ = ()

    def union(self, other: Any) -> 'CompoundQuery':
        """Rows of either query, duplicates removed (UNION)."""
        return combine('union', self, other)

    def union_all(self, other: Any) -> 'CompoundQuery':
        """Rows of both queries, duplicates kept (UNION ALL)."""
        return combine('union_all', self, other)

    def intersect(self, other: Any) -> 'CompoundQuery':
        """Rows in both queries (INTERSECT)."""
        return combine('intersect', self, other)

    def except_(self, other: Any) -> 'CompoundQuery':
        """Rows of this query that the other does not return (EXCEPT)."""
        return combine('except', self, other)


class CompoundQuery(SetOperations, AsyncFetching[Any], Builder[Any]):
    """Queries combined by one set operation; ordered, paged and run like a Query."""

    __slots__ = ('kind', 'members', 'model', '_order_by', '_limit', '_offset', '_ctes', '_as_dicts')

    def __init__(self, kind: str, members: Sequence[Any], model: ModelClass) -> None:
        self.kind = kind
        self.members = tuple(members)
        self.model = model
        self._order_by: tuple[Any, ...] = ()
        self._limit: int | None = None
        self._offset: int | None = None
        self._ctes: tuple[CTE, ...] = ()
        self._as_dicts = False

    def _clone(self, **changes: Any) -> 'CompoundQuery':
        new = CompoundQuery(self.kind, self.members, self.model)
        for slot in ('_order_by', '_limit', '_offset', '_ctes', '_as_dicts'):
            setattr(new, slot, changes.get(slot, getattr(self, slot)))
        return new

    def _plain(self) -> bool:
        return not (self._order_by or self._limit is not None or self._offset or self._ctes)

    def __repr__(self) -> str:
        return f'<{self.kind.upper()} of {len(self.members)} queries of {self.model.__name__}>'

    # -- builder ------------------------------------------------------------------------

    def order_by(self, *items: Any) -> 'CompoundQuery':
        """Order the combined rows by result column names ('name DESC') or columns; None clears."""
        if len(items) == 1 and items[0] is None:
            return self._clone(_order_by=())
        parsed: list[Any] = []
        for item in items:
            if isinstance(item, str):
                item = parse_name(item, 'order_by', allow_direction=True)
            elif not hasattr(item, '__sql__'):
                raise ActiveRecordError(f'order_by() takes result column names or expressions, got {item!r}')
            parsed.append(item)
        return self._clone(_order_by=self._order_by + tuple(parsed))

    def pluck(self, *columns: Any) -> list[Any]:
        """Values of one result column (a list), or tuples of several, by name or Model.c column."""
        if not columns:
            raise ActiveRecordError('pluck() needs at least one column')
        labels = self.result_labels() or []
        names: list[Any] = []
        for column in columns:
            name = column if isinstance(column, str) else getattr(column, 'label', None)
            if name not in labels:
                raise ActiveRecordError(f'pluck({column!r}): not a column of the {self.kind} result; '
                                        f'its columns: {", ".join(map(str, labels))}')
            names.append(name)
        rows = self.as_dicts().all()
        if len(names) == 1:
            return [row[names[0]] for row in rows]
        return [tuple(row[name] for name in names) for row in rows]

    # -- rendering ------------------------------------------------------------------------

    def __subquery_sql__(self, ctx: SQLContext) -> None:
        subquery_sql(ctx, self._render)

    def result_items(self) -> tuple[Any, ...] | None:
        """The first member's select list (it names the result columns)."""
        items: tuple[Any, ...] | None = self.members[0].result_items()
        return items

    def _render_body(self, ctx: SQLContext) -> None:
        dialect = ctx.dialect
        feature = _FEATURES.get(self.kind)
        if feature is not None and not getattr(dialect.features, feature):
            raise NotSupportedError(f'{dialect.name} does not support {self.kind.upper()}')
        keyword = ' ' + dialect.set_operation_keywords[self.kind] + ' '
        with clause(ctx, 'statement', unqualified=False):
            for index, member in enumerate(self.members):
                if index:
                    ctx.literal(keyword)
                if isinstance(member, CompoundQuery) or not _plain_member(member):
                    ctx.literal('SELECT * FROM (')
                    member.__subquery_sql__(ctx)
                    ctx.literal(')' + dialect.table_alias_keyword + dialect.quote(f'm{index + 1}'))
                else:
                    member._render(ctx)

    def _wrapped(self, ctx: SQLContext, columns: Any, order: tuple[Any, ...], limit: int | None,
                 offset: int | None) -> None:
        dialect = ctx.dialect
        register_ctes(ctx, self._ctes)
        ctx.literal('SELECT ')
        dialect.render_top(ctx, limit, offset, bool(order))
        with clause(ctx, 'select', unqualified=True):
            ctx.sql(columns)
        ctx.literal(' FROM (')
        self._render_body(ctx)
        ctx.literal(')' + dialect.table_alias_keyword + dialect.quote(WRAPPER_ALIAS))
        if order:
            with clause(ctx, 'order', unqualified=True):
                ctx.literal(' ORDER BY ').join(order)
        if limit is not None or offset:
            dialect.render_paging(ctx, limit, offset, bool(order))

    def _render(self, ctx: SQLContext) -> None:
        if self._order_by or self._limit is not None or self._offset:
            self._wrapped(ctx, Raw('*'), self._resolved_order(), self._limit, self._offset)
        else:
            register_ctes(ctx, self._ctes)
            self._render_body(ctx)

    def _resolved_order(self) -> tuple[Any, ...]:
        labels = self.result_labels() or []
        result: list[Any] = []
        for item in self._order_by:
            if isinstance(item, NameRef):
                if item.name not in labels:
                    raise ActiveRecordError(f'order_by({item.text!r}): {item.name!r} is not a column of the '
                                            f'{self.kind} result; its columns: {", ".join(map(str, labels))}')
                item = Ordering(NamedColumn(None, item.name), item.descending)
            elif not isinstance(item, Ordering):
                item = Ordering(item)
            result.append(item)
        return tuple(result)

    def _render_aggregate(self, ctx: SQLContext, function: str, expression: Any) -> None:
        call = Function(function, () if expression is None else (expression,))
        order = self._resolved_order() if self._limit is not None or self._offset else ()
        if order or self._limit is not None or self._offset:
            # Page first, then aggregate the page.
            ctx.literal('SELECT ')
            with clause(ctx, 'select', unqualified=True):
                ctx.sql(Alias(Function(function, () if expression is None else
                                       (NamedColumn(None, _label_of(expression)),)), 'value'))
            ctx.literal(' FROM (')
            self._wrapped(ctx, Raw('*'), order, self._limit, self._offset)
            ctx.literal(')' + ctx.dialect.table_alias_keyword + ctx.dialect.quote('paged'))
            return
        self._wrapped(ctx, Alias(call, 'value'), (), None, None)

    def _render_exists(self, ctx: SQLContext) -> None:
        self._wrapped(ctx, Alias(Raw('1'), 'one'), (), 1, self._offset)

    def _ordered_for_first(self) -> 'CompoundQuery':
        if self._order_by:
            return self
        labels = self.result_labels() or []
        keys = [self.model.__meta__.fields[name].column for name in self.model.__meta__.primary_key]
        if keys and all(key in labels for key in keys):
            return self._clone(_order_by=tuple(NameRef(key, False, key, 'order_by') for key in keys))
        return self


def _label_of(expression: Any) -> str:
    label: str | None = getattr(expression, 'label', None)
    if isinstance(expression, ColumnRef):
        return expression.column
    if label is None:
        raise ActiveRecordError('an aggregate over a paged union takes a result column (Model.c.field)')
    return label


def _plain_member(member: Any) -> bool:
    return not (member._order_by or member._limit is not None or member._offset)
