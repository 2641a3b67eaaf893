"""Expression nodes that shape a value or test it: LIKE, IN, BETWEEN, EXISTS, AS, ORDER BY items, CAST, CASE.

They build on the base nodes of expressions.py and are re-exported from there.
"""
from __future__ import annotations

import datetime
import decimal
import re
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import ActiveRecordError, NotSupportedError
from .expressions import (ATOM, COMPARISON, Expression, Value, _condition, _type_name, clause,
                          render_operand)

if TYPE_CHECKING:  # pragma: no cover
    from ..backend.dialect import SQLContext


class Like(Expression):
    """expression [NOT] LIKE / ILIKE pattern [ESCAPE c]."""

    __slots__ = ('operand', 'pattern', 'negate', 'escape', 'case_insensitive')
    precedence = COMPARISON

    def __init__(self, operand: Any, pattern: Any, negate: bool = False, escape: str | None = None,
                 case_insensitive: bool = False) -> None:
        if escape is not None and (not isinstance(escape, str) or len(escape) != 1):
            raise ActiveRecordError(f'LIKE escape must be one character, got {escape!r}')
        self.operand = operand
        # The pattern is text even on a column with a converter (a JSON or UUID column).
        self.pattern = pattern if hasattr(pattern, '__sql__') else Value(pattern)
        self.negate = negate
        self.escape = escape
        self.case_insensitive = case_insensitive

    def __sql__(self, ctx: 'SQLContext') -> None:
        if self.case_insensitive:
            ctx.dialect.render_ilike(ctx, _Wrapped(self.operand), _Wrapped(self.pattern),
                                     self.negate, self.escape)
            return
        render_operand(ctx, self.operand, COMPARISON, strict=True)
        ctx.literal(' NOT LIKE ' if self.negate else ' LIKE ')
        render_operand(ctx, self.pattern, COMPARISON, strict=True)
        if self.escape is not None:
            ctx.literal(' ESCAPE ').param(self.escape)

    def __invert__(self) -> 'Like':
        return Like(self.operand, self.pattern, not self.negate, self.escape, self.case_insensitive)


class _Wrapped(Expression):
    """A child rendered in parentheses when it is not atomic (for dialect hooks)."""

    __slots__ = ('node',)

    def __init__(self, node: Any) -> None:
        self.node = node

    def __sql__(self, ctx: 'SQLContext') -> None:
        render_operand(ctx, self.node, COMPARISON, strict=True)


class In(Expression):
    """expression [NOT] IN (values...) or (subquery); long lists split per the database's limit."""

    __slots__ = ('operand', 'values', 'subquery', 'negate')
    precedence = COMPARISON

    def __init__(self, operand: Any, values: Any, negate: bool = False) -> None:
        self.operand = operand
        self.negate = negate
        if isinstance(values, (str, bytes)) or values is None:
            raise ActiveRecordError(f'in_() takes a list of values or a subquery, got {values!r}')
        if hasattr(values, '__sql__'):
            self.subquery = values
            self.values: tuple = ()
        else:
            try:
                items = tuple(values)
            except TypeError:
                raise ActiveRecordError(f'in_() takes a list of values or a subquery, got '
                                        f'{type(values).__name__} {values!r}') from None
            bind = operand._bind if isinstance(operand, Expression) else Value
            self.subquery = None
            self.values = tuple(bind(item) for item in items)

    def __sql__(self, ctx: 'SQLContext') -> None:
        keyword = ' NOT IN (' if self.negate else ' IN ('
        if self.subquery is not None:
            render_operand(ctx, self.operand, COMPARISON, strict=True)
            ctx.literal(keyword)
            _render_subquery_body(ctx, self.subquery)
            ctx.literal(')')
            return
        if not self.values:
            # IN () is not SQL; an empty list matches nothing (NOT IN: everything).
            ctx.literal('1 = 1' if self.negate else '1 = 0')
            return
        limit = max(1, ctx.dialect.features.max_in_list)
        chunks = [self.values[start:start + limit] for start in range(0, len(self.values), limit)]
        if len(chunks) > 1:
            ctx.literal('(')
        for index, chunk in enumerate(chunks):
            if index:
                ctx.literal(' AND ' if self.negate else ' OR ')
            render_operand(ctx, self.operand, COMPARISON, strict=True)
            ctx.literal(keyword).join(chunk).literal(')')
        if len(chunks) > 1:
            ctx.literal(')')

    def __invert__(self) -> 'In':
        node = In.__new__(In)
        node.operand, node.values, node.subquery, node.negate = (
            self.operand, self.values, self.subquery, not self.negate)
        return node


def _render_subquery_body(ctx: 'SQLContext', subquery: Any) -> None:
    """A query's SELECT without the parentheses it adds as an operand."""
    body = getattr(subquery, '__subquery_sql__', None)
    if body is not None:
        body(ctx)
    else:
        ctx.sql(subquery)


class Between(Expression):
    """expression [NOT] BETWEEN low AND high."""

    __slots__ = ('operand', 'low', 'high', 'negate')
    precedence = COMPARISON

    def __init__(self, operand: Any, low: Any, high: Any, negate: bool = False) -> None:
        self.operand, self.low, self.high, self.negate = operand, low, high, negate

    def __sql__(self, ctx: 'SQLContext') -> None:
        render_operand(ctx, self.operand, COMPARISON, strict=True)
        ctx.literal(' NOT BETWEEN ' if self.negate else ' BETWEEN ')
        render_operand(ctx, self.low, COMPARISON, strict=True)
        ctx.literal(' AND ')
        render_operand(ctx, self.high, COMPARISON, strict=True)

    def __invert__(self) -> 'Between':
        return Between(self.operand, self.low, self.high, not self.negate)


class Exists(Expression):
    """[NOT] EXISTS (subquery)."""

    __slots__ = ('subquery', 'negate')
    precedence = COMPARISON

    def __init__(self, subquery: Any, negate: bool = False) -> None:
        if not hasattr(subquery, '__sql__'):
            raise ActiveRecordError(f'exists() takes a query, got {type(subquery).__name__}')
        self.subquery = subquery
        self.negate = negate

    def __sql__(self, ctx: 'SQLContext') -> None:
        ctx.literal('NOT EXISTS (' if self.negate else 'EXISTS (')
        _render_subquery_body(ctx, self.subquery)
        ctx.literal(')')

    def __invert__(self) -> 'Exists':
        return Exists(self.subquery, not self.negate)


def exists(subquery: Any) -> Exists:
    """EXISTS (subquery); ~exists(q) is NOT EXISTS."""
    return Exists(subquery)


# -- naming, ordering, types, CASE --------------------------------------------------------

class Alias(Expression):
    """expression AS name in a select list; the name alone in ORDER BY; the expression elsewhere."""

    __slots__ = ('expression', 'name')

    def __init__(self, expression: Any, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ActiveRecordError(f'an alias must be a non-empty str, got {name!r}')
        self.expression = expression if hasattr(expression, '__sql__') else Value(expression)
        self.name = name

    @property
    def label(self) -> str:  # type: ignore[override]
        return self.name

    @property
    def precedence(self) -> int:  # type: ignore[override]
        return getattr(self.expression, 'precedence', ATOM)

    def __sql__(self, ctx: 'SQLContext') -> None:
        where = ctx.state.get('clause')
        if where == 'select':
            with clause(ctx, 'select-item'):
                ctx.sql(self.expression)
            ctx.literal(' AS ').identifier(self.name)
        elif where == 'order':
            ctx.identifier(self.name)
        else:
            ctx.sql(self.expression)


class Ordering(Expression):
    """expression ASC|DESC [NULLS FIRST|LAST] in ORDER BY (emulated where NULLS is missing)."""

    __slots__ = ('expression', 'descending', 'nulls')

    def __init__(self, expression: Any, descending: bool = False, nulls: str | None = None) -> None:
        if nulls not in (None, 'first', 'last'):
            raise ActiveRecordError(f"nulls must be 'first' or 'last', got {nulls!r}")
        self.expression = expression
        self.descending = descending
        self.nulls = nulls

    def nulls_first(self) -> 'Ordering':
        """NULLs before other values."""
        return Ordering(self.expression, self.descending, 'first')

    def nulls_last(self) -> 'Ordering':
        """NULLs after other values."""
        return Ordering(self.expression, self.descending, 'last')

    def asc(self) -> 'Ordering':
        """This ordering, ascending."""
        return Ordering(self.expression, False, self.nulls)

    def desc(self) -> 'Ordering':
        """This ordering, descending."""
        return Ordering(self.expression, True, self.nulls)

    def __sql__(self, ctx: 'SQLContext') -> None:
        if self.nulls is not None and not ctx.dialect.supports_nulls_ordering:
            # A key that is 0 for the NULLs that come first, 1 for the rest.
            first, rest = ('0', '1') if self.nulls == 'first' else ('1', '0')
            ctx.literal('CASE WHEN ')
            render_operand(ctx, self.expression, COMPARISON, strict=True)
            ctx.literal(f' IS NULL THEN {first} ELSE {rest} END, ')
        ctx.sql(self.expression)
        if self.descending:
            ctx.literal(' DESC')
        if self.nulls is not None and ctx.dialect.supports_nulls_ordering:
            ctx.literal(' NULLS FIRST' if self.nulls == 'first' else ' NULLS LAST')


_TYPE_NAME = re.compile(r'^[A-Za-z][A-Za-z0-9_ ]*(\(\s*\d+\s*(,\s*\d+\s*)?\))?$')
_CAST_KINDS: dict[Any, str] = {
    bool: 'bool', int: 'int', float: 'float', decimal.Decimal: 'decimal', str: 'str',
    datetime.datetime: 'datetime', datetime.date: 'date', datetime.time: 'time',
}


class Cast(Expression):
    """CAST(expression AS type)."""

    __slots__ = ('expression', 'to')

    def __init__(self, expression: Any, to: Any) -> None:
        if isinstance(to, str):
            if not _TYPE_NAME.match(to.strip()):
                raise ActiveRecordError(f'cast(): {to!r} is not a type name (expected e.g. '
                                        "'VARCHAR(20)' or 'NUMERIC(10, 2)', or a Python type)")
        elif to not in _CAST_KINDS:
            raise ActiveRecordError(f'cast(): no SQL type for {_type_name(to)}; use one of '
                                    f'{", ".join(_type_name(kind) for kind in _CAST_KINDS)} or a type name')
        self.expression = expression if hasattr(expression, '__sql__') else Value(expression)
        self.to = to

    def __sql__(self, ctx: 'SQLContext') -> None:
        if isinstance(self.to, str):
            type_sql = self.to.strip().upper()
        else:
            kind = _CAST_KINDS[self.to]
            function = ctx.dialect.cast_functions.get(kind)
            if function is not None:
                with clause(ctx, 'argument'):
                    ctx.literal(function + '(').sql(self.expression).literal(')')
                return
            type_sql = ctx.dialect.cast_types.get(kind)
            if type_sql is None:
                raise NotSupportedError(f'{ctx.dialect.name} has no CAST target for {_type_name(self.to)}')
        with clause(ctx, 'operand'):
            ctx.literal('CAST(').sql(self.expression).literal(f' AS {type_sql})')


def cast(expression: Any, to: Any) -> Cast:
    """CAST(expression AS type): a Python type or a type name string."""
    return Cast(expression, to)


class Case(Expression):
    """CASE WHEN condition THEN result ... [ELSE default] END."""

    __slots__ = ('whens', 'default')

    def __init__(self, whens: Sequence[tuple[Any, Any]], default: Any = None, has_default: bool = False) -> None:
        if not whens:
            raise ActiveRecordError('case() needs at least one (condition, result) pair')
        pairs = []
        for pair in whens:
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise ActiveRecordError(f'case() takes (condition, result) pairs, got {pair!r}')
            condition, result = pair
            pairs.append((_condition(condition), result if hasattr(result, '__sql__') else Value(result)))
        self.whens = tuple(pairs)
        self.default = (default if hasattr(default, '__sql__') else Value(default)) if has_default else None

    def __sql__(self, ctx: 'SQLContext') -> None:
        ctx.literal('CASE')
        for condition, result in self.whens:
            ctx.literal(' WHEN ').sql(condition).literal(' THEN ').sql(result)
        if self.default is not None:
            ctx.literal(' ELSE ').sql(self.default)
        ctx.literal(' END')


_NO_DEFAULT = object()


def case(*whens: tuple[Any, Any], else_: Any = _NO_DEFAULT) -> Case:
    """CASE WHEN ... THEN ... [ELSE else_] END from (condition, result) pairs."""
    return Case(whens, None if else_ is _NO_DEFAULT else else_, has_default=else_ is not _NO_DEFAULT)
