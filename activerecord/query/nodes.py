"""Expression nodes built by functions rather than by column methods: EXISTS, CAST and CASE."""
from __future__ import annotations

from typing import Any, Sequence

from ..errors import ActiveRecordError
from .tree import COMPARISON, Cast, Expression, Value, as_condition, render_subquery_body
from ..backend.dialect import SQLContext



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
        render_subquery_body(ctx, self.subquery)
        ctx.literal(')')

    def __invert__(self) -> 'Exists':
        return Exists(self.subquery, not self.negate)


def exists(subquery: Any) -> Exists:
    """EXISTS (subquery); ~exists(q) is NOT EXISTS."""
    return Exists(subquery)


def cast(expression: Any, to: Any) -> Cast:
    """CAST(expression AS type): a Python type or a type name string. The public `cast`
    (activerecord.cast, query/functions.py) also makes `cast(x, str)` the same text everywhere."""
    return Cast(expression, to)


class Case(Expression):
    """CASE WHEN condition THEN result ... [ELSE default] END."""

    __slots__ = ('whens', 'default')

    def __init__(self, whens: Sequence[tuple[Any, Any]], default: Any = None, has_default: bool = False) -> None:
        if not whens:
            raise ActiveRecordError('case() needs at least one (condition, result) pair')
        pairs: list[tuple[Any, Any]] = []
        for pair in whens:
            if not isinstance(pair, tuple) or len(pair) != 2:  # pyright: ignore[reportUnnecessaryIsInstance]  # user input
                raise ActiveRecordError(f'case() takes (condition, result) pairs, got {pair!r}')
            condition, result = pair
            pairs.append((as_condition(condition), result if hasattr(result, '__sql__') else Value(result)))
        self.whens: tuple[tuple[Any, Any], ...] = tuple(pairs)
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
