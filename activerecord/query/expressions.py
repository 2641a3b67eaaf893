"""The expression tree: every node renders itself into a SQLContext as SQL text plus bound values.

A node never knows which database it renders for; where the SQL differs it asks `ctx.dialect`
(its data tables and hooks). Plain Python values become bound parameters, and a value compared
with a model column is converted the way that column stores it (`FieldMeta.to_db_for`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from ..backend.placeholders import translate
from ..errors import ActiveRecordError, DataError, ProgrammingError

if TYPE_CHECKING:  # pragma: no cover
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
        return And(self, _condition(other))

    def __rand__(self, other: Any) -> 'Expression':
        return And(_condition(other), self)

    def __or__(self, other: Any) -> 'Expression':
        return Or(self, _condition(other))

    def __ror__(self, other: Any) -> 'Expression':
        return Or(_condition(other), self)

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


def _condition(value: Any) -> Any:
    if isinstance(value, str):
        raise ActiveRecordError(f'cannot combine the string {value!r} with & or |: '
                                f'wrap raw SQL in activerecord.raw({value!r})')
    if not hasattr(value, '__sql__'):
        raise ActiveRecordError(f'cannot combine {type(value).__name__} value {value!r} with & or |; '
                                'expected a SQL expression')
    return value


def _escape_like(text: str) -> str:
    if not isinstance(text, str):
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

    def __init__(self, value: Any, column: 'ColumnRef') -> None:
        self.value = value
        self.column = column

    def __sql__(self, ctx: 'SQLContext') -> None:
        # shared only with the same column's values: PostgreSQL deduces an untyped (str) parameter's
        # type from where it stands, and one parameter compared with two types is an error
        column = self.column
        ctx.shared_param(column.to_db(ctx.dialect, self.value), (id(column.model), column.name))


_RAW_PARAMS_EXAMPLE = "raw('score > ? AND age < ?', 10, 65)"


class Raw(Expression):
    """A raw SQL fragment with `?` placeholders and its parameters."""

    __slots__ = ('text', 'params')
    precedence = RAW

    def __init__(self, text: str, params: Sequence[Any] = ()) -> None:
        if not isinstance(text, str):
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
        params = tuple(params[0])
    return Raw(text, params)


def _is_model(candidate: Any) -> bool:
    return isinstance(candidate, type) and hasattr(candidate, '__meta__')


# PostgreSQL's JSONB/array operators (meta['k'], contains, has_key, overlaps, any_eq); imported
# here, after the nodes it builds on, because postgres_ops imports this module.
from .postgres_ops import DocumentOperators  # noqa: E402


class ColumnRef(DocumentOperators, Expression):
    """A model field as a column, qualified by its table (or the table's alias)."""

    __slots__ = ('model', 'name', 'field', 'table_alias', '_texts')

    def __init__(self, model: type, name: str, field: Any, table_alias: str | None = None) -> None:
        self.model = model
        self.name = name
        self.field = field
        self.table_alias = table_alias
        self._texts: dict[type, str] = {}   # dialect class -> quoted "table"."column"

    @property
    def column(self) -> str:
        """The column name in the database."""
        return self.field.column

    @property
    def label(self) -> str:  # type: ignore[override]
        return self.field.column

    def __sql__(self, ctx: 'SQLContext') -> None:
        dialect = ctx.dialect
        if ctx.state.get('unqualified'):
            ctx.parts.append(dialect.quote(self.field.column))
            return
        # Quoting is class-level data of the dialect: the text is built once per dialect class.
        text = self._texts.get(type(dialect))
        if text is None:
            table = dialect.quote(self.table_alias) if self.table_alias else dialect.quote_table(
                self.model.__meta__.table_name)
            text = self._texts[type(dialect)] = table + '.' + dialect.quote(self.field.column)
        ctx.parts.append(text)

    def to_db(self, dialect: Any, python_value: Any) -> Any:
        """`python_value` as this column binds it on `dialect`."""
        if python_value is None:
            return None
        converter = self.field.to_db_for(dialect)
        if converter is None:
            return python_value
        try:
            return converter(python_value)
        except ActiveRecordError:
            raise
        except Exception as error:
            raise DataError(f'{self.model.__name__}.{self.name}: cannot bind {python_value!r} as '
                            f'{_type_name(self.field.python_type)} ({error})') from error

    def from_db_converter(self, dialect: Any) -> Any:
        """The converter for this column's values read back (None: as is)."""
        return self.field.from_db_for(dialect)

    # MySQL/MariaDB full-text and spatial functions: nodes in query/mysql_ops.py.
    def match(self, query: str, mode: str = 'natural') -> Expression:
        """MATCH (column) AGAINST (query): full-text condition and relevance; mode 'natural'|'boolean'|'expansion'."""
        from .mysql_ops import Match
        return Match((self,), query, mode)

    def st_distance(self, other: Any) -> Expression:
        """ST_Distance(column, other geometry or column)."""
        from .mysql_ops import st_distance
        return st_distance(self, other)

    def st_distance_sphere(self, other: Any) -> Expression:
        """ST_Distance_Sphere(column, other): metres between longitude/latitude points."""
        from .mysql_ops import st_distance_sphere
        return st_distance_sphere(self, other)

    def st_contains(self, other: Any) -> Expression:
        """ST_Contains(column, other): the column's shape contains the other."""
        from .mysql_ops import st_contains
        return st_contains(self, other)

    def st_within(self, other: Any) -> Expression:
        """ST_Within(column, other): the column's shape lies within the other."""
        from .mysql_ops import st_within
        return st_within(self, other)

    def _bind(self, python_value: Any) -> Any:
        if hasattr(python_value, '__sql__'):
            return python_value
        return BoundValue(python_value, self)

    def _bind_arithmetic(self, python_value: Any) -> Any:
        # Only a value of the column's own type goes through its converter (a timedelta added
        # to an interval column); a plain number added to a Decimal column binds as it is.
        python_type = self.field.python_type
        if (not hasattr(python_value, '__sql__') and isinstance(python_type, type)
                and isinstance(python_value, python_type) and not isinstance(python_value, bool)):
            return BoundValue(python_value, self)
        return Expression._bind(self, python_value)

    def __repr__(self) -> str:
        prefix = f'{self.table_alias}:' if self.table_alias else ''
        return f'{prefix}{self.model.__name__}.c.{self.name}'


def _type_name(python_type: Any) -> str:
    return getattr(python_type, '__name__', str(python_type))


class ColumnNamespace:
    """`Model.c`: attribute access gives the ColumnRef of a field."""

    __slots__ = ('_model', '_alias', '_columns')

    def __init__(self, model: type, alias: str | None = None) -> None:
        self._model = model
        self._alias = alias
        self._columns: dict[str, ColumnRef] = {}

    def __getattr__(self, name: str) -> ColumnRef:
        if name.startswith('__'):
            raise AttributeError(name)
        column = self._columns.get(name)
        if column is None:
            fields = self._model.__meta__.fields
            field = fields.get(name)
            if field is None:
                raise AttributeError(f'{self._model.__name__} has no field {name!r}; its fields are: '
                                     f'{", ".join(fields) or "(none)"}')
            column = self._columns[name] = ColumnRef(self._model, name, field, self._alias)
        return column

    def __getitem__(self, name: str) -> ColumnRef:
        try:
            return getattr(self, name)
        except AttributeError as error:
            raise KeyError(str(error)) from None

    def __iter__(self) -> Iterator[ColumnRef]:
        return (getattr(self, name) for name in self._model.__meta__.fields)

    def __dir__(self) -> list[str]:
        return list(self._model.__meta__.fields)

    def __repr__(self) -> str:
        return f'<columns of {self._model.__name__}>'


class NamedColumn(Expression):
    """A column of a named source that is not a model: a CTE, a subquery alias, a raw table."""

    __slots__ = ('table', 'name')

    def __init__(self, table: str | None, name: str) -> None:
        self.table = table
        self.name = name

    @property
    def label(self) -> str:  # type: ignore[override]
        return self.name

    def __sql__(self, ctx: 'SQLContext') -> None:
        if self.table is None or ctx.state.get('unqualified'):
            ctx.identifier(self.name)
        else:
            ctx.identifier(self.table, self.name)

    def __repr__(self) -> str:
        return f'{self.table}.c.{self.name}'


class NamedColumns:
    """`.c` of a CTE or subquery alias: any attribute is a column of that name."""

    __slots__ = ('_table',)

    def __init__(self, table: str) -> None:
        self._table = table

    def __getattr__(self, name: str) -> NamedColumn:
        if name.startswith('__'):
            raise AttributeError(name)
        return NamedColumn(self._table, name)

    def __getitem__(self, name: str) -> NamedColumn:
        return NamedColumn(self._table, name)


class Star(Expression):
    """`*` (inside COUNT), or `table.*`."""

    __slots__ = ('table',)

    def __init__(self, table: str | None = None) -> None:
        self.table = table

    def __sql__(self, ctx: 'SQLContext') -> None:
        if self.table:
            ctx.identifier(self.table).literal('.*')
        else:
            ctx.literal('*')


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
        self.items = tuple(flat)

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
    return And(*(_condition(item) for item in conditions))


def or_(*conditions: Any) -> Expression:
    """Any of the conditions."""
    return Or(*(_condition(item) for item in conditions))


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


def expressions_of(items: Iterable[Any]) -> tuple[Any, ...]:
    """Check that every item is a SQL node (used by the query builder)."""
    result = []
    for item in items:
        if not hasattr(item, '__sql__'):
            raise ActiveRecordError(f'expected a column expression, got {type(item).__name__} {item!r}')
        result.append(item)
    return tuple(result)


# LIKE, IN, BETWEEN, EXISTS, aliases, ordering, CAST and CASE live in nodes.py (which builds on
# the classes above); imported here so that this module keeps offering every node.
from .nodes import (_CAST_KINDS, Alias, Between, Case, Cast, Exists, In, Like, Ordering,  # noqa: E402,F401
                    _render_subquery_body, _Wrapped, case, cast, exists)


def __getattr__(name: str) -> Any:
    # `func` and the window helpers live in functions.py (which imports this module).
    if name in ('func', 'Frame', 'Function', 'Window'):
        from . import functions
        return getattr(functions, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
