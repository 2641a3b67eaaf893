"""SQL functions (`func.<name>(...)`) and window functions (`.over(...)`)."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import ActiveRecordError, NotSupportedError
from .expressions import ATOM, Expression, Ordering, Star, Value, clause

if TYPE_CHECKING:  # pragma: no cover
    from ..backend.dialect import SQLContext

_FUNCTION_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')


class Function(Expression):
    """NAME(arguments); COUNT() with no argument is COUNT(*)."""

    __slots__ = ('name', 'args', 'distinct')

    def __init__(self, name: str, args: Sequence[Any], distinct: bool = False) -> None:
        self.name = name
        self.args = tuple(arg if hasattr(arg, '__sql__') else Value(arg) for arg in args)
        self.distinct = distinct

    def __sql__(self, ctx: 'SQLContext') -> None:
        lower = self.name.lower()
        ctx.literal(ctx.dialect.function_names.get(lower, self.name.upper()) + '(')
        if self.distinct:
            ctx.literal('DISTINCT ')
        if not self.args and lower == 'count':
            ctx.literal('*')
        else:
            with clause(ctx, 'argument'):
                ctx.join(self.args)
        ctx.literal(')')

    def over(self, partition_by: Any = None, order_by: Any = None, frame: Any = None) -> 'Window':
        """This function as a window function: OVER (PARTITION BY ... ORDER BY ... frame)."""
        return Window(self, partition_by, order_by, frame)

    def __repr__(self) -> str:
        return f'func.{self.name}({", ".join(map(repr, self.args))})'


class _FunctionFactory:
    __slots__ = ('name',)

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: Any, distinct: bool = False) -> Function:
        return Function(self.name, args, distinct)

    def __repr__(self) -> str:
        return f'func.{self.name}'


class _FunctionNamespace:
    """`func.count()`, `func.lower(User.c.name)`, `func.rank().over(...)`: any SQL function."""

    def __getattr__(self, name: str) -> _FunctionFactory:
        if name.startswith('__'):
            raise AttributeError(name)
        if not _FUNCTION_NAME.match(name):
            raise AttributeError(f'{name!r} is not a SQL function name')
        return _FunctionFactory(name)


func = _FunctionNamespace()


def _expression_list(items: Any, what: str) -> tuple[Any, ...]:
    if items is None:
        return ()
    if not isinstance(items, (list, tuple)):
        items = (items,)
    for item in items:
        if not hasattr(item, '__sql__'):
            raise ActiveRecordError(f'over({what}=...) takes column expressions (Model.c.field), '
                                    f'got {type(item).__name__} {item!r}')
    return tuple(items)


class Frame:
    """A window frame: ROWS|RANGE|GROUPS BETWEEN start AND end.

    A bound is None (UNBOUNDED PRECEDING / FOLLOWING), 0 (CURRENT ROW), -n (n PRECEDING) or
    n (n FOLLOWING). The offsets are checked integers written into the SQL, because SQL Server
    takes no parameter there.
    """

    __slots__ = ('kind', 'start', 'end')

    def __init__(self, kind: str = 'rows', start: int | None = None, end: int | None = 0) -> None:
        if not isinstance(kind, str) or kind.lower() not in ('rows', 'range', 'groups'):
            raise ActiveRecordError(f"frame kind must be 'rows', 'range' or 'groups', got {kind!r}")
        for bound in (start, end):
            if bound is not None and (not isinstance(bound, int) or isinstance(bound, bool)):
                raise ActiveRecordError(f'a frame bound is None, 0, or an int offset, got {bound!r}')
        self.kind = kind.upper()
        self.start = start
        self.end = end

    @staticmethod
    def _bound(value: int | None, unbounded: str) -> str:
        if value is None:
            return f'UNBOUNDED {unbounded}'
        if value == 0:
            return 'CURRENT ROW'
        return f'{-value} PRECEDING' if value < 0 else f'{value} FOLLOWING'

    def __sql__(self, ctx: 'SQLContext') -> None:
        ctx.literal(f'{self.kind} BETWEEN {self._bound(self.start, "PRECEDING")} '
                    f'AND {self._bound(self.end, "FOLLOWING")}')


def _frame(frame: Any) -> Frame | None:
    if frame is None or isinstance(frame, Frame):
        return frame
    if isinstance(frame, tuple) and 1 <= len(frame) <= 3:
        return Frame(*frame)
    raise ActiveRecordError(f"frame must be a Frame or a tuple like ('rows', None, 0), got {frame!r}")


class Window(Expression):
    """function OVER (PARTITION BY ... ORDER BY ... frame)."""

    __slots__ = ('function', 'partition_by', 'order_by', 'frame')
    precedence = ATOM

    def __init__(self, function: Any, partition_by: Any = None, order_by: Any = None, frame: Any = None) -> None:
        self.function = function
        self.partition_by = _expression_list(partition_by, 'partition_by')
        self.order_by = _expression_list(order_by, 'order_by')
        self.frame = _frame(frame)

    def __sql__(self, ctx: 'SQLContext') -> None:
        if not ctx.dialect.features.window_functions:
            raise NotSupportedError(f'{ctx.dialect.name} does not support window functions')
        ctx.sql(self.function).literal(' OVER (')
        space = ''
        if self.partition_by:
            with clause(ctx, 'window'):
                ctx.literal('PARTITION BY ').join(self.partition_by)
            space = ' '
        if self.order_by:
            with clause(ctx, 'window'):
                ctx.literal(space + 'ORDER BY ').join(
                    item if isinstance(item, Ordering) else Ordering(item) for item in self.order_by)
            space = ' '
        if self.frame is not None:
            ctx.literal(space).sql(self.frame)
        ctx.literal(')')


def count_star() -> Function:
    """COUNT(*)."""
    return Function('count', ())


__all__ = ['Frame', 'Function', 'Star', 'Window', 'count_star', 'func']
