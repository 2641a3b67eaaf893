"""SQL functions (`func.<name>(...)`) and window functions (`.over(...)`)."""
from __future__ import annotations

import datetime
import decimal
import functools
import re
import string
from typing import Any, Callable, NoReturn, Sequence

from ..backend.types import ColumnSpec
from ..errors import ActiveRecordError, NotSupportedError
from .nodes import cast as plain_cast
from .tree import ATOM, Cast, Expression, Ordering, Value, clause
from .result_types import (DIVISION_PLACES, FLOAT, INT, TEXT, Scope, first_typed, python_type_of,
                           render_scope, result_type, rule)
from ..backend.dialect import SQLContext


_FUNCTION_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')


class Function(Expression):
    """NAME(arguments); COUNT() with no argument is COUNT(*)."""

    __slots__ = ('name', 'args', 'distinct')

    def __init__(self, name: str, args: Sequence[Any], distinct: bool = False) -> None:
        self.name = name
        self.args = tuple(arg if hasattr(arg, '__sql__') else IntegerArgument(arg) if type(arg) is int
                          else Value(arg) for arg in args)
        self.distinct = distinct

    def __sql__(self, ctx: 'SQLContext') -> None:
        self.render_call(ctx, None)

    def render_call(self, ctx: 'SQLContext', window: 'Window | None') -> None:
        """This call; followed by `window`'s OVER (...) when it is that window's function."""
        lower = self.name.lower()
        dialect = ctx.dialect
        name = dialect.function_names.get(lower, self.name.upper())
        cast_to = places = None
        if lower in _TYPED_AGGREGATES and len(self.args) == 1 and (
                dialect.typed_function_names or dialect.typed_argument_casts or dialect.typed_function_forms):
            # SUM/AVG by argument type: SQLite's exact decimal sum, MySQL's AVG of integers as
            # double, PostgreSQL's AVG of decimals exact to its places
            key = (lower, python_type_of(self.args[0], render_scope(ctx)))
            form = dialect.typed_function_forms.get(key)
            if form is not None:
                spec = result_type(self, render_scope(ctx))
                if spec is not None and spec.decimal_places is not None:
                    self._render_form(ctx, form, spec.decimal_places, window)
                    return
            name = dialect.typed_function_names.get(key, name)
            cast_to = dialect.typed_argument_casts.get(key)
            if name in dialect.typed_function_places and not self.distinct:
                # the places the result is read to, so that the function rounds exactly once
                spec = result_type(self, render_scope(ctx))
                places = spec.decimal_places if spec is not None else None
        ctx.literal(name + '(')
        if self.distinct:
            ctx.literal('DISTINCT ')
        if not self.args and lower == 'count':
            ctx.literal('*')
        elif cast_to is not None:
            with clause(ctx, 'operand'):
                ctx.literal('CAST(').sql(self.args[0]).literal(f' AS {dialect.cast_types[cast_to]})')
        elif lower in dialect.text_argument_functions:
            with clause(ctx, 'argument'):
                ctx.join(TextArgument(arg.value) if type(arg) is Value and type(arg.value) is str else arg
                         for arg in self.args)
        else:
            with clause(ctx, 'argument'):
                ctx.join(self.args)
        if places is not None:
            ctx.literal(f', {int(places)}')
        ctx.literal(')')
        if window is not None:
            window.render_over(ctx)

    def _render_form(self, ctx: 'SQLContext', form: str, places: int, window: 'Window | None') -> None:
        """A dialect's typed_function_forms template: the argument and the window where it says."""
        places = int(places)
        values = {'distinct': 'DISTINCT ' if self.distinct else '', 'places': str(places),
                  'exact_places': str(places + EXACT_QUOTIENT_PLACES)}
        for text, field in _template(form):
            if text:
                ctx.literal(text)
            if field == 'arg':
                with clause(ctx, 'argument'):
                    ctx.sql(self.args[0])
            elif field == 'over':
                if window is not None:
                    window.render_over(ctx)
            elif field is not None:
                ctx.literal(values[field])

    def over(self, partition_by: Any = None, order_by: Any = None, frame: Any = None) -> 'Window':
        """This function as a window function: OVER (PARTITION BY ... ORDER BY ... frame)."""
        return Window(self, partition_by, order_by, frame)

    def __repr__(self) -> str:
        return f'func.{self.name}({", ".join(map(repr, self.args))})'


#: places past a result's that a typed form's quotient is computed to: a COUNT is a 64-bit
#: integer, below 10**19, so a quotient by it rounded there is rounded to the result's places as
#: the exact quotient would be (PostgreSQLDialect.typed_function_forms)
EXACT_QUOTIENT_PLACES = 19


@functools.lru_cache(maxsize=None)
def _template(form: str) -> tuple[tuple[str, str | None], ...]:
    """A typed_function_forms template as (text, field) pieces, parsed once."""
    return tuple((text, field) for text, field, _, _ in string.Formatter().parse(form))


class IntegerArgument(Value):
    """An int argument of a function: a literal where the dialect says so, else a bound value."""

    __slots__ = ()

    def __sql__(self, ctx: 'SQLContext') -> None:
        if ctx.dialect.inline_integer_arguments:
            ctx.literal(str(int(self.value)))   # exactly an int: digits and a sign, never user text
        else:
            super().__sql__(ctx)


class TextArgument(Value):
    """A str argument of a function taking any type (dialect.text_argument_functions): a bound value
    cast to text, so that a server that types parameters from their place knows it."""

    __slots__ = ()

    def __sql__(self, ctx: 'SQLContext') -> None:
        ctx.literal('CAST(').shared_param(self.value, str).literal(f' AS {ctx.dialect.cast_types["str"]})')


class _FunctionFactory:
    __slots__ = ('name',)

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: Any, distinct: bool = False) -> Function:
        return Function(self.name, args, distinct)

    def __repr__(self) -> str:
        return f'func.{self.name}'


# -- portable date functions and ordered string aggregation ---------------------------------

#: the parts func.extract() takes ('dow': day of week, Sunday = 0) and the units of func.date_trunc()
EXTRACT_PARTS = ('year', 'month', 'day', 'hour', 'minute', 'second', 'dow')
TRUNC_UNITS = ('year', 'month', 'day', 'hour')


def _part(value: Any, allowed: tuple[str, ...], function: str) -> str:
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ActiveRecordError(f'func.{function}(): the part must be one of '
                                f'{", ".join(map(repr, allowed))}, got {value!r}')
    return value.lower()


def _operand(value: Any, function: str, what: str = 'a date or datetime') -> Any:
    if not hasattr(value, '__sql__'):
        raise ActiveRecordError(f'func.{function}() takes a column expression (Model.c.field) of {what}, '
                                f'got {type(value).__name__} {value!r}')
    return value


def _render_template(ctx: 'SQLContext', form: str, operands: dict[str, Any]) -> None:
    """A dialect template: its text as it is, each {field} rendered as that operand (a node, or a
    function that renders into the context)."""
    for text, field in _template(form):
        if text:
            ctx.literal(text)
        if field is not None:
            operand = operands[field]
            if callable(operand) and not hasattr(operand, '__sql__'):
                operand(ctx)
            else:
                with clause(ctx, 'argument'):
                    ctx.sql(operand)


class _DateFunction(Expression):
    """A date function rendered from Dialect.portable_function_templates, by its operand's type."""

    __slots__ = ('part', 'operand')
    function = ''
    precedence = ATOM

    def __init__(self, part: str, operand: Any) -> None:
        self.part = part
        self.operand = operand

    def __sql__(self, ctx: 'SQLContext') -> None:
        key = f'{self.function}_{self.part}'
        kind = python_type_of(self.operand, render_scope(ctx))
        templates = ctx.dialect.portable_function_templates
        form = templates.get(key + '_date') if kind is datetime.date else None
        if form is None:
            form = templates.get(key)
        if form is None:
            raise NotSupportedError(f'{ctx.dialect.name} has no {self.function} of {self.part!r}')
        _render_template(ctx, form, {'0': self.operand})

    def __repr__(self) -> str:
        return f'func.{self.function}({self.part!r}, {self.operand!r})'


class Extract(_DateFunction):
    """func.extract('year', col): a part of a date or datetime (in UTC) as an int."""

    __slots__ = ()
    function = 'extract'


class DateTrunc(_DateFunction):
    """func.date_trunc('month', col): the date or datetime (in UTC) cut to the start of its unit."""

    __slots__ = ()
    function = 'date_trunc'


def _extract(part: Any, operand: Any) -> Extract:
    return Extract(_part(part, EXTRACT_PARTS, 'extract'), _operand(operand, 'extract'))


def _date_trunc(unit: Any, operand: Any) -> DateTrunc:
    return DateTrunc(_part(unit, TRUNC_UNITS, 'date_trunc'), _operand(operand, 'date_trunc'))


class StringAgg(Expression):
    """func.string_agg(col, ', ', order_by=[...]): the group's values joined by a separator, in order."""

    __slots__ = ('operand', 'separator', 'order_by')
    precedence = ATOM

    def __init__(self, operand: Any, separator: Any, order_by: Any) -> None:
        if not isinstance(separator, str):
            raise ActiveRecordError(f'func.string_agg(): the separator must be a str, got {separator!r}')
        self.operand = _operand(operand, 'string_agg', 'the values to join')
        self.separator = separator
        self.order_by: tuple[Ordering, ...] = tuple(item if isinstance(item, Ordering) else Ordering(item)
                                                     for item in _expression_list(order_by, 'order_by'))
        if not self.order_by:
            raise ActiveRecordError('func.string_agg() needs order_by=[...]: the order of the joined values')

    def __sql__(self, ctx: 'SQLContext') -> None:
        form = ctx.dialect.portable_function_templates.get('string_agg')
        if form is None:
            raise NotSupportedError(f'{ctx.dialect.name} has no ordered string aggregation')
        renderers: dict[str, Callable[[SQLContext], object]] = {
            'sep': lambda ctx: ctx.param(self.separator),
            'order': lambda ctx: ctx.join(self.order_by),
            'keys': lambda ctx: ctx.join(item.expression for item in self.order_by),
            'directions': lambda ctx: ctx.param(''.join('d' if item.descending else 'a' for item in self.order_by))}
        _render_template(ctx, form, {'arg': self.operand, **renderers})

    def over(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Refused: ordered string aggregation is no window function on every backend."""
        raise NotSupportedError(
            'func.string_agg(...).over(...): string_agg cannot be used as a window function, because '
            "MySQL and MariaDB's GROUP_CONCAT and SQL Server's STRING_AGG take no OVER clause; "
            'aggregate with group_by() instead (a subquery grouped by the partition, joined back)')


def _string_agg(operand: Any, separator: Any = ', ', *, order_by: Any = None) -> StringAgg:
    return StringAgg(operand, separator, order_by)


class TextCast(Cast):
    """cast(x, str): x's text, the same on every backend for ints, decimals (to their places),
    dates ('2009-03-08'), datetimes ('2009-03-08 23:30:15.000000', in UTC) and bools ('true').

    A plain CAST writes a datetime with its zone on PostgreSQL, a decimal kept as a double on
    SQLite without its trailing zeros, a bool as 1 on MySQL: Dialect.text_cast_templates
    renders those by the operand's type."""

    __slots__ = ()

    def __sql__(self, ctx: 'SQLContext') -> None:
        spec = result_type(self.expression, render_scope(ctx))
        kind = spec.python_type if spec is not None else None
        name = {bool: 'bool', decimal.Decimal: 'decimal', datetime.datetime: 'datetime',
                datetime.date: 'date'}.get(kind) if kind is not None else None
        form = ctx.dialect.text_cast_templates.get(name) if name is not None else None
        if name == 'decimal' and form is not None:
            if spec is None or spec.decimal_places is None:
                form = None   # places known only to the database: its own text
            else:
                form = form.replace('{places}', str(int(spec.decimal_places)))
        if form is None:
            super().__sql__(ctx)
        else:
            _render_template(ctx, form, {'0': self.expression})


def cast(expression: Any, to: Any) -> Cast:
    """CAST(expression AS type): a Python type or a type name string; `cast(x, str)` is the same
    text on every backend (TextCast)."""
    if to is str:
        return TextCast(expression, to)
    return plain_cast(expression, to)


_PORTABLE_FUNCTIONS: dict[str, Any] = {'extract': _extract, 'date_trunc': _date_trunc, 'string_agg': _string_agg}


class _FunctionNamespace:
    """`func.count()`, `func.lower(User.c.name)`, `func.rank().over(...)`: any SQL function.

    `func.extract`, `func.date_trunc` and `func.string_agg` are portable: rendered per dialect."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith('__'):
            raise AttributeError(name)
        if not _FUNCTION_NAME.match(name):
            raise AttributeError(f'{name!r} is not a SQL function name')
        return _PORTABLE_FUNCTIONS.get(name) or _FunctionFactory(name)


func = _FunctionNamespace()


def _expression_list(items: Any, what: str) -> tuple[Any, ...]:
    if items is None:
        return ()
    given: Sequence[Any] | Expression = items   # typed for the isinstance() below (its items: Any)
    listed = given if isinstance(given, (list, tuple)) else (given,)
    for item in listed:
        if not hasattr(item, '__sql__'):
            raise ActiveRecordError(f'over({what}=...) takes column expressions (Model.c.field), '
                                    f'got {type(item).__name__} {item!r}')
    return tuple(listed)


class Frame:
    """A window frame: ROWS|RANGE|GROUPS BETWEEN start AND end.

    A bound is None (UNBOUNDED PRECEDING / FOLLOWING), 0 (CURRENT ROW), -n (n PRECEDING) or
    n (n FOLLOWING). The offsets are checked integers written into the SQL, because SQL Server
    takes no parameter there.
    """

    __slots__ = ('kind', 'start', 'end')

    def __init__(self, kind: str = 'rows', start: int | None = None, end: int | None = 0) -> None:
        if not isinstance(kind, str) or kind.lower() not in ('rows', 'range', 'groups'):  # pyright: ignore[reportUnnecessaryIsInstance]  # user input
            raise ActiveRecordError(f"frame kind must be 'rows', 'range' or 'groups', got {kind!r}")
        for bound in (start, end):
            if bound is not None and (not isinstance(bound, int) or isinstance(bound, bool)):  # pyright: ignore[reportUnnecessaryIsInstance]  # user input
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
    given: Frame | Sequence[Any] | None = frame   # typed for the isinstance() below (its items: Any)
    if given is None or isinstance(given, Frame):
        return given
    if isinstance(given, tuple) and 1 <= len(given) <= 3:
        return Frame(*given)
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
        function = self.function
        if isinstance(function, Function):
            function.render_call(ctx, self)   # a typed form puts OVER after each aggregate it uses
        else:
            ctx.sql(function)
            self.render_over(ctx)

    def render_over(self, ctx: 'SQLContext') -> None:
        """` OVER (PARTITION BY ... ORDER BY ... frame)`."""
        ctx.literal(' OVER (')
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


# -- result types ---------------------------------------------------------------------------

#: aggregates a dialect may render per argument type (Dialect.typed_function_names / _argument_casts)
_TYPED_AGGREGATES = frozenset({'sum', 'avg'})
_SAME_AS_FIRST_ARGUMENT = frozenset({
    'sum', 'min', 'max', 'first_value', 'last_value', 'lag', 'lead', 'nth_value', 'abs',
    'any_value'})
_FIRST_TYPED_ARGUMENT = frozenset({'coalesce', 'ifnull', 'nullif', 'greatest', 'least'})
#: functions whose result type is the same whatever their arguments
_FIXED_RESULTS: dict[str, ColumnSpec] = {
    **dict.fromkeys(('count', 'row_number', 'rank', 'dense_rank', 'ntile', 'length', 'char_length'), INT),
    **dict.fromkeys(('percent_rank', 'cume_dist'), FLOAT),
    **dict.fromkeys(('lower', 'upper', 'substr', 'substring', 'trim', 'ltrim', 'rtrim', 'replace', 'concat',
                     'string_agg', 'group_concat'), TEXT)}


@rule(Function)
def _function_type(node: Function, scope: Scope) -> ColumnSpec | None:
    name = node.name.lower()
    if name in _FIXED_RESULTS:
        return _FIXED_RESULTS[name]
    if name in _FIRST_TYPED_ARGUMENT:
        return first_typed(node.args, scope)
    if not node.args:
        return None
    argument = result_type(node.args[0], scope)
    if name == 'avg':
        return _average_type(argument)
    if name == 'sum' and argument is not None and argument.python_type is bool:
        return INT
    if name == 'round':
        return _round_type(argument, node.args[1:])
    if name in _SAME_AS_FIRST_ARGUMENT:
        return argument
    return None


def _average_type(argument: ColumnSpec | None) -> ColumnSpec | None:
    """AVG of a Decimal(p, s): a Decimal with s + 4 places; of an int or float: a float."""
    if argument is None:
        return None
    if argument.python_type is decimal.Decimal:
        return ColumnSpec(decimal.Decimal, decimal_places=(argument.decimal_places or 0) + DIVISION_PLACES)
    if argument.python_type in (int, float, bool):
        return FLOAT
    return None


def _round_type(argument: ColumnSpec | None, places: tuple[Any, ...]) -> ColumnSpec | None:
    """ROUND(Decimal, n) is a Decimal with n places (ROUND(x): none), as on PostgreSQL and
    MySQL; SQLite's double is read back to them. ROUND of a float stays a float."""
    if argument is None or argument.python_type not in (decimal.Decimal, float):
        return None
    if argument.python_type is float:
        return FLOAT
    if not places:
        return ColumnSpec(decimal.Decimal, decimal_places=0)
    digits = getattr(places[0], 'value', None)
    if type(digits) is not int:
        return ColumnSpec(decimal.Decimal)   # places known only to the database
    return ColumnSpec(decimal.Decimal, decimal_places=max(digits, 0))


@rule(Window)
def _window_type(node: Window, scope: Scope) -> ColumnSpec | None:
    return result_type(node.function, scope)


@rule(Extract)
def _extract_type(node: Extract, scope: Scope) -> ColumnSpec | None:
    return INT


@rule(DateTrunc)
def _date_trunc_type(node: DateTrunc, scope: Scope) -> ColumnSpec | None:
    return result_type(node.operand, scope)


@rule(StringAgg)
def _string_agg_type(node: StringAgg, scope: Scope) -> ColumnSpec | None:
    return TEXT
