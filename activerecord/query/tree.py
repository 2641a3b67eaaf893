"""The node base of the expression tree: every node renders itself into a SQLContext as SQL text plus bound values.

A node never knows which database it renders for; where the SQL differs it asks `ctx.dialect`
(its data tables and hooks). Plain Python values become bound parameters. Everything an
`Expression` method builds (comparisons, logic, LIKE, IN, BETWEEN, ordering, aliases, CAST)
lives here, so this module needs nothing above the backend floor.
"""
from __future__ import annotations

import datetime
import decimal
import re
from typing import Any, Sequence

from ..backend.placeholders import translate
from ..errors import ActiveRecordError, NotSupportedError, ProgrammingError
from ..backend.dialect import SQLContext


# Binding strength of operators: a child weaker than its parent is wrapped in parentheses.
RAW = 0          # a raw fragment: always parenthesized inside an operator
OR = 1
AND = 2
NOT = 3
COMPARISON = 4   # = <> < > LIKE IN BETWEEN IS
ADDITIVE = 5     # + - ||
MULTIPLICATIVE = 6
UNARY = 7
ATOM = 10

_NON_ASSOCIATIVE = frozenset({'-', '/', '%'})
#: clauses where a bare value stands alone (its type comes from nothing around it)
_SELECT_CLAUSES = frozenset({'select', 'select-item'})


class clause:
    """`with clause(ctx, 'select'):` render in a clause ('select', 'order', ...), then restore the state."""

    __slots__ = ('state', 'name', 'flags', 'saved')

    def __init__(self, ctx: 'SQLContext', name: str | None, **flags: Any) -> None:
        self.state = ctx.state
        self.name = name
        self.flags = flags

    def __enter__(self) -> None:
        state = self.state
        if self.flags:
            self.saved: Any = {key: state.get(key) for key in ('clause', *self.flags)}
            state.update(self.flags)
        else:
            self.saved = state.get('clause')
        state['clause'] = self.name

    def __exit__(self, *exc: Any) -> None:
        if self.flags:
            self.state.update(self.saved)
        else:
            self.state['clause'] = self.saved


def render_operand(ctx: 'SQLContext', node: Any, parent: int, strict: bool = False) -> None:
    """Render a child, in parentheses when it binds more weakly than its parent operator."""
    precedence = getattr(node, 'precedence', ATOM)
    if precedence < parent or (strict and precedence == parent):
        ctx.literal('(').sql(node).literal(')')
    else:
        ctx.sql(node)


class Expression:
    """A SQL expression: combine with Python operators, render with `__sql__(ctx)`."""

    __slots__ = ()
    precedence: int = ATOM
    #: the column label this expression gets in a result (None: the database chooses)
    label: str | None = None

    def __sql__(self, ctx: 'SQLContext') -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __bool__(self) -> bool:
        raise TypeError('a SQL expression has no truth value: combine conditions with & | ~ '
                        '(not `and`, `or`, `not`), and compare in Python only after the query ran')

    __hash__ = object.__hash__

    def _bind(self, value: Any) -> Any:
        """A node for a value on the other side of an operator (bound as a parameter)."""
        if hasattr(value, '__sql__'):
            return value
        return Value(value)

    def _bind_arithmetic(self, value: Any) -> Any:
        return self._bind(value)

    # -- comparisons --------------------------------------------------------------------

    def __eq__(self, other: Any) -> 'Expression':  # type: ignore[override]
        if other is None:
            return IsNull(self)
        return BinaryOp(self, '=', self._bind(other), COMPARISON)

    def __ne__(self, other: Any) -> 'Expression':  # type: ignore[override]
        if other is None:
            return IsNull(self, negate=True)
        return BinaryOp(self, '<>', self._bind(other), COMPARISON)

    def __lt__(self, other: Any) -> 'Expression':
        return BinaryOp(self, '<', self._bind(other), COMPARISON)

    def __le__(self, other: Any) -> 'Expression':
        return BinaryOp(self, '<=', self._bind(other), COMPARISON)

    def __gt__(self, other: Any) -> 'Expression':
        return BinaryOp(self, '>', self._bind(other), COMPARISON)

    def __ge__(self, other: Any) -> 'Expression':
        return BinaryOp(self, '>=', self._bind(other), COMPARISON)

    # -- logic --------------------------------------------------------------------------

    def __and__(self, other: Any) -> 'Expression':
        return And(self, as_condition(other))

    def __rand__(self, other: Any) -> 'Expression':
        return And(as_condition(other), self)

    def __or__(self, other: Any) -> 'Expression':
        return Or(self, as_condition(other))

    def __ror__(self, other: Any) -> 'Expression':
        return Or(as_condition(other), self)

    def __invert__(self) -> 'Expression':
        return Not(self)

    # -- arithmetic ---------------------------------------------------------------------

    def __add__(self, other: Any) -> 'Expression':
        return BinaryOp(self, '+', self._bind_arithmetic(other), ADDITIVE)

    def __radd__(self, other: Any) -> 'Expression':
        return BinaryOp(self._bind_arithmetic(other), '+', self, ADDITIVE)

    def __sub__(self, other: Any) -> 'Expression':
        return BinaryOp(self, '-', self._bind_arithmetic(other), ADDITIVE)

    def __rsub__(self, other: Any) -> 'Expression':
        return BinaryOp(self._bind_arithmetic(other), '-', self, ADDITIVE)

    def __mul__(self, other: Any) -> 'Expression':
        return BinaryOp(self, '*', self._bind_arithmetic(other), MULTIPLICATIVE)

    def __rmul__(self, other: Any) -> 'Expression':
        return BinaryOp(self._bind_arithmetic(other), '*', self, MULTIPLICATIVE)

    def __truediv__(self, other: Any) -> 'Expression':
        return BinaryOp(self, '/', self._bind_arithmetic(other), MULTIPLICATIVE)

    def __rtruediv__(self, other: Any) -> 'Expression':
        return BinaryOp(self._bind_arithmetic(other), '/', self, MULTIPLICATIVE)

    def __mod__(self, other: Any) -> 'Expression':
        return BinaryOp(self, '%', self._bind_arithmetic(other), MULTIPLICATIVE)

    def __rmod__(self, other: Any) -> 'Expression':
        return BinaryOp(self._bind_arithmetic(other), '%', self, MULTIPLICATIVE)

    def __neg__(self) -> 'Expression':
        return Negative(self)

    def concat(self, *others: Any) -> 'Expression':
        """String concatenation (`||`, or the dialect's function where `||` means something else)."""
        node: Expression = self
        for other in others:
            node = BinaryOp(node, '||', Value(other) if not hasattr(other, '__sql__') else other, ADDITIVE)
        return node

    # -- predicates ---------------------------------------------------------------------

    def like(self, pattern: Any, escape: str | None = None) -> 'Expression':
        """LIKE pattern (case sensitivity is the database's: see ilike for a portable one)."""
        return Like(self, pattern, escape=escape)

    def not_like(self, pattern: Any, escape: str | None = None) -> 'Expression':
        """NOT LIKE pattern."""
        return Like(self, pattern, negate=True, escape=escape)

    def ilike(self, pattern: Any, escape: str | None = None) -> 'Expression':
        """Case-insensitive LIKE (native ILIKE, or LOWER() LIKE LOWER() where there is none)."""
        return Like(self, pattern, escape=escape, case_insensitive=True)

    def not_ilike(self, pattern: Any, escape: str | None = None) -> 'Expression':
        """Case-insensitive NOT LIKE."""
        return Like(self, pattern, negate=True, escape=escape, case_insensitive=True)

    def startswith(self, prefix: str) -> 'Expression':
        """LIKE 'prefix%' with the prefix's own % and _ escaped."""
        return Like(self, _escape_like(prefix) + '%', escape='\\')

    def endswith(self, suffix: str) -> 'Expression':
        """LIKE '%suffix' with the suffix's own % and _ escaped."""
        return Like(self, '%' + _escape_like(suffix), escape='\\')

    def in_(self, values: Any) -> 'Expression':
        """IN (values...) or IN (subquery)."""
        return In(self, values)

    def not_in(self, values: Any) -> 'Expression':
        """NOT IN (values...) or NOT IN (subquery)."""
        return In(self, values, negate=True)

    def is_null(self) -> 'Expression':
        """IS NULL."""
        return IsNull(self)

    def is_not_null(self) -> 'Expression':
        """IS NOT NULL."""
        return IsNull(self, negate=True)

    def between(self, low: Any, high: Any) -> 'Expression':
        """BETWEEN low AND high (both ends included)."""
        return Between(self, self._bind(low), self._bind(high))

    def not_between(self, low: Any, high: Any) -> 'Expression':
        """NOT BETWEEN low AND high."""
        return Between(self, self._bind(low), self._bind(high), negate=True)

    # -- ordering, naming, types --------------------------------------------------------

    def asc(self) -> 'Ordering':
        """Ascending order (for order_by)."""
        return Ordering(self, descending=False)

    def desc(self) -> 'Ordering':
        """Descending order (for order_by)."""
        return Ordering(self, descending=True)

    def nulls_first(self) -> 'Ordering':
        """Ascending, NULLs first."""
        return Ordering(self, nulls='first')

    def nulls_last(self) -> 'Ordering':
        """Ascending, NULLs last."""
        return Ordering(self, nulls='last')

    def as_(self, name: str) -> 'Alias':
        """Name this expression in a select list (the key of its value in as_dicts())."""
        return Alias(self, name)

    def cast(self, to: Any) -> 'Cast':
        """CAST(self AS type): a Python type (int, str, Decimal, ...) or a type name string."""
        return Cast(self, to)


def as_condition(value: Any) -> Any:
    """`value` as a condition node (a raw string is refused: it must be wrapped in raw())."""
    if isinstance(value, str):
        raise ActiveRecordError(f'cannot combine the string {value!r} with & or |: '
                                f'wrap raw SQL in activerecord.raw({value!r})')
    if not hasattr(value, '__sql__'):
        raise ActiveRecordError(f'cannot combine {type(value).__name__} value {value!r} with & or |; '
                                'expected a SQL expression')
    return value


def _escape_like(text: str) -> str:
    if not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance]  # user input
        raise ActiveRecordError(f'startswith/endswith take a str, got {type(text).__name__} {text!r}')
    return text.replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_')


# -- leaves -----------------------------------------------------------------------------

class Value(Expression):
    """A Python value sent as a bound parameter."""

    __slots__ = ('value',)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __sql__(self, ctx: 'SQLContext') -> None:
        if ctx.dialect.cast_select_parameters and ctx.state.get('clause') in _SELECT_CLAUSES:
            kind = _CAST_KINDS.get(type(self.value))
            if kind is not None and kind != 'str':
                type_sql = ctx.dialect.cast_types.get(kind)
                if type_sql is not None:
                    ctx.literal('CAST(').shared_param(self.value).literal(f' AS {type_sql})')
                    return
        ctx.shared_param(self.value)

    def __repr__(self) -> str:
        return f'Value({self.value!r})'


def value(python_value: Any) -> Value:
    """A constant for a select list or an expression, sent as a bound parameter."""
    return Value(python_value)


class BoundValue(Expression):
    """A value compared with a model column: bound as that column stores it on this dialect."""

    __slots__ = ('value', 'column')

    def __init__(self, value: Any, column: Any) -> None:  # column: a ColumnRef (expressions.py)
        self.value = value
        self.column = column

    def __sql__(self, ctx: 'SQLContext') -> None:
        # shared only with the same column's values: PostgreSQL deduces an untyped (str) parameter's
        # type from where it stands, and one parameter compared with two types is an error
        column = self.column
        ctx.shared_param(column.to_db(ctx.dialect, self.value), (id(column.model), column.name))


class Raw(Expression):
    """A raw SQL fragment with `?` placeholders and its parameters."""

    __slots__ = ('text', 'params')
    precedence = RAW

    def __init__(self, text: str, params: Sequence[Any] = ()) -> None:
        if not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance]  # user input
            raise ActiveRecordError(f'raw SQL must be a str, got {type(text).__name__} {text!r}')
        self.text = text
        self.params = tuple(params)

    @property
    def label(self) -> str | None:  # type: ignore[override]
        return None

    def __sql__(self, ctx: 'SQLContext') -> None:
        # Read with the dialect's rules, as the server will read the whole statement.
        # ('numeric': a fragment may hold a shared parameter's reference, which qmark cannot express)
        expected = translate(self.text, 'numeric', ctx.dialect.features.question_mark_operators,
                             ctx.dialect.lexical_rules).placeholder_count
        if expected != len(self.params):
            raise ProgrammingError(
                f'raw SQL {self.text!r} has {expected} `?` placeholder(s) but {len(self.params)} '
                f'parameter(s) were given: {self.params!r}')
        # Keep the fragment's parameters in the order its placeholders appear.
        ctx.literal(self.text)
        ctx.params.extend(self.params)

    def __repr__(self) -> str:
        return f'raw({self.text!r}, {self.params!r})'


def raw(text: str, *params: Any) -> Raw:
    """Raw SQL for where(), select(), order_by()...: raw('a = ? OR b = ?', 1, 2) or raw(sql, (1, 2))."""
    if len(params) == 1 and isinstance(params[0], (tuple, list)):
        params = tuple(params[0])  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]  # isinstance() leaves the items unknown
    return Raw(text, params)


# -- operators --------------------------------------------------------------------------

class BinaryOp(Expression):
    """left <op> right."""

    __slots__ = ('left', 'op', 'right', 'precedence')

    def __init__(self, left: Any, op: str, right: Any, precedence: int) -> None:
        self.left = left
        self.op = op
        self.right = right
        self.precedence = precedence

    def __sql__(self, ctx: 'SQLContext') -> None:
        function = ctx.dialect.operator_functions.get(self.op)
        if function is not None:
            operands = [self.right]
            left = self.left
            # a || b || c is one CONCAT(a, b, c); other operators keep their nesting.
            while self.op == '||' and isinstance(left, BinaryOp) and left.op == '||':
                operands.append(left.right)
                left = left.left
            operands.append(left)
            ctx.literal(function + '(').join(reversed(operands)).literal(')')
            return
        state = ctx.state
        outer = state.get('clause')
        if outer in _SELECT_CLAUSES:
            state['clause'] = 'operand'   # the other operand types a value: no CAST needed
        try:
            render_operand(ctx, self.left, self.precedence, strict=self.precedence == COMPARISON)
            ctx.literal(f' {self.op} ')
            render_operand(ctx, self.right, self.precedence,
                           strict=self.op in _NON_ASSOCIATIVE or self.precedence == COMPARISON)
        finally:
            state['clause'] = outer

    def __repr__(self) -> str:
        return f'({self.left!r} {self.op} {self.right!r})'


class Negative(Expression):
    """-expression."""

    __slots__ = ('operand',)
    precedence = UNARY

    def __init__(self, operand: Any) -> None:
        self.operand = operand

    def __sql__(self, ctx: 'SQLContext') -> None:
        ctx.literal('-')
        render_operand(ctx, self.operand, UNARY, strict=True)


class _Junction(Expression):
    __slots__ = ('items',)
    keyword = ''

    def __init__(self, *items: Any) -> None:
        flat: list[Any] = []
        for item in items:
            if type(item) is type(self):
                flat.extend(item.items)
            else:
                flat.append(item)
        self.items: tuple[Any, ...] = tuple(flat)

    def __sql__(self, ctx: 'SQLContext') -> None:
        for index, item in enumerate(self.items):
            if index:
                ctx.literal(self.keyword)
            render_operand(ctx, item, self.precedence)


class And(_Junction):
    """a AND b AND ..."""

    __slots__ = ()
    precedence = AND
    keyword = ' AND '


class Or(_Junction):
    """a OR b OR ..."""

    __slots__ = ()
    precedence = OR
    keyword = ' OR '


def and_(*conditions: Any) -> Expression:
    """All of the conditions."""
    return And(*(as_condition(item) for item in conditions))


def or_(*conditions: Any) -> Expression:
    """Any of the conditions."""
    return Or(*(as_condition(item) for item in conditions))


class Not(Expression):
    """NOT condition."""

    __slots__ = ('operand',)
    precedence = NOT

    def __init__(self, operand: Any) -> None:
        self.operand = operand

    def __sql__(self, ctx: 'SQLContext') -> None:
        ctx.literal('NOT ')
        render_operand(ctx, self.operand, ATOM)

    def __invert__(self) -> Any:
        return self.operand


class IsNull(Expression):
    """expression IS [NOT] NULL."""

    __slots__ = ('operand', 'negate')
    precedence = COMPARISON

    def __init__(self, operand: Any, negate: bool = False) -> None:
        self.operand = operand
        self.negate = negate

    def __sql__(self, ctx: 'SQLContext') -> None:
        render_operand(ctx, self.operand, COMPARISON, strict=True)
        ctx.literal(' IS NOT NULL' if self.negate else ' IS NULL')

    def __invert__(self) -> 'IsNull':
        return IsNull(self.operand, not self.negate)


# -- predicates --------------------------------------------------------------------------

class Like(Expression):
    """expression [NOT] LIKE / ILIKE pattern [ESCAPE c]."""

    __slots__ = ('operand', 'pattern', 'negate', 'escape', 'case_insensitive')
    precedence = COMPARISON

    def __init__(self, operand: Any, pattern: Any, negate: bool = False, escape: str | None = None,
                 case_insensitive: bool = False) -> None:
        if escape is not None and (not isinstance(escape, str) or len(escape) != 1):  # pyright: ignore[reportUnnecessaryIsInstance]  # user input
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
            self.values: tuple[Any, ...] = ()
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
            render_subquery_body(ctx, self.subquery)
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


def render_subquery_body(ctx: 'SQLContext', subquery: Any) -> None:
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


# -- naming, ordering, types --------------------------------------------------------------

class Alias(Expression):
    """expression AS name in a select list; the name alone in ORDER BY; the expression elsewhere."""

    __slots__ = ('expression', 'name')

    def __init__(self, expression: Any, name: str) -> None:
        if not isinstance(name, str) or not name:  # pyright: ignore[reportUnnecessaryIsInstance]  # user input
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
            raise ActiveRecordError(f'cast(): no SQL type for {python_type_name(to)}; use one of '
                                    f'{", ".join(python_type_name(kind) for kind in _CAST_KINDS)} or a type name')
        self.expression = expression if hasattr(expression, '__sql__') else Value(expression)
        self.to = to

    def __sql__(self, ctx: 'SQLContext') -> None:
        if isinstance(self.to, str):
            type_sql: str | None = self.to.strip().upper()
        else:
            kind = _CAST_KINDS[self.to]
            function = ctx.dialect.cast_functions.get(kind)
            if function is not None:
                with clause(ctx, 'argument'):
                    ctx.literal(function + '(').sql(self.expression).literal(')')
                return
            type_sql = ctx.dialect.cast_types.get(kind)
            if type_sql is None:
                raise NotSupportedError(f'{ctx.dialect.name} has no CAST target for {python_type_name(self.to)}')
        with clause(ctx, 'operand'):
            ctx.literal('CAST(').sql(self.expression).literal(f' AS {type_sql})')


def python_type_name(python_type: Any) -> str:
    """The name of a Python type, for messages."""
    return getattr(python_type, '__name__', str(python_type))
