"""Result types: the Python type a selected expression reads back as, on every backend.

Each node kind has a rule giving its result type as a `ColumnSpec` (None: unknown, the driver's
value is kept). A model column has its field's type; SUM/MIN/MAX/LAG/... of an expression have
that expression's type, COUNT and RANK an int, AVG of a Decimal(p, s) a Decimal with s + 4
places (AVG of an int or float: a float), CAST(x AS T) is T, CASE and COALESCE the type of their
first typed branch, comparisons a bool. A column of a CTE or derived table has the type of what
that query selects under its name (looked up in a `Scope` built once per query).

`reader(spec, dialect)` turns a result type into the converter applied to the driver's value,
so one query gives the same Python types and values on SQLite, PostgreSQL and MySQL.
"""
from __future__ import annotations

import datetime
import decimal
from typing import Any, Callable, Iterable

from ..backend.types import ColumnSpec, Converter, to_decimal
from .tree import (Alias, And, Between, BinaryOp, BoundValue, Cast, Expression, In, IsNull, Like, Negative,
                  Not, Or, Value)
from .nodes import Case, Exists

Rule = Callable[[Any, 'Scope'], 'ColumnSpec | None']

INT = ColumnSpec(int)
FLOAT = ColumnSpec(float)
BOOL = ColumnSpec(bool)
TEXT = ColumnSpec(str)

#: extra decimal places of a Decimal quotient or average (MySQL's div_precision_increment)
DIVISION_PLACES = 4

_rules: dict[type, Rule] = {}


class Scope:
    """The named sources (CTEs, derived tables) a query's NamedColumns may refer to."""

    __slots__ = ('sources', 'seen')

    def __init__(self, sources: dict[str, tuple[Any, tuple[str, ...] | None]] | None = None,
                 seen: frozenset[Any] = frozenset()) -> None:
        self.sources = sources if sources is not None else {}
        self.seen = seen


EMPTY_SCOPE = Scope()


def rule(*classes: type) -> Callable[[Rule], Rule]:
    """Register the result-type rule of these node classes (and their subclasses)."""
    def register(function: Rule) -> Rule:
        for klass in classes:
            _rules[klass] = function
        return function
    return register


def result_type(node: Any, scope: Scope | None = None) -> ColumnSpec | None:
    """The result type of an expression (None when it cannot be known)."""
    for klass in type(node).__mro__:
        function = _rules.get(klass)
        if function is not None:
            return function(node, scope or EMPTY_SCOPE)
    return None


def python_type_of(node: Any, scope: Scope | None = None) -> Any:
    """The Python type an expression computes (None when unknown)."""
    spec = result_type(node, scope)
    return None if spec is None else spec.python_type


def scope_of(query: Any) -> Scope:
    """Every CTE and derived table reachable from a query, by name (built once per query run)."""
    sources: dict[str, tuple[Any, tuple[str, ...] | None]] = {}
    _collect(query, sources, set())
    return Scope(sources)


def _collect(query: Any, sources: dict[str, tuple[Any, tuple[str, ...] | None]], visited: set[int]) -> None:
    if id(query) in visited:
        return
    visited.add(id(query))
    for cte in getattr(query, '_ctes', ()):
        sources.setdefault(cte.name, (cte.query, cte.columns))
        _collect(cte.query, sources, visited)
    for join in getattr(query, '_joins', ()):
        target = join.target
        inner = getattr(target, 'query', None)
        if inner is not None and hasattr(inner, 'result_items'):
            sources.setdefault(target.name, (inner, None))
            _collect(inner, sources, visited)
    for member in getattr(query, 'members', ()):
        _collect(member, sources, visited)
    source = getattr(query, '_source', None)
    if source is not None and hasattr(source, 'result_items'):
        _collect(source, sources, visited)


def render_scope(ctx: Any) -> Scope:
    """The scope of the query being rendered (built once per query and statement)."""
    query = ctx.state.get('typing_query')
    if query is None:
        return EMPTY_SCOPE
    scopes = ctx.state.setdefault('type_scopes', {})
    scope: Scope | None = scopes.get(id(query))
    if scope is None:
        scope = scopes[id(query)] = scope_of(query)
    return scope


def column_of_source(scope: Scope, table: str | None, name: str) -> ColumnSpec | None:
    """The type of column `name` of the named source `table` (None when unknown)."""
    entry = scope.sources.get(table) if table is not None else None
    if entry is None or table in scope.seen:
        return None   # unknown, or a recursive CTE reading itself
    query, columns = entry
    items = query.result_items()
    if items is None:
        return None
    inner = Scope(scope.sources, scope.seen | {table})
    if columns is not None:
        if name in columns and columns.index(name) < len(items):
            return result_type(items[columns.index(name)], inner)
        return None
    folded = name.lower()
    for item in items:
        label = getattr(item, 'label', None)
        if label is not None and label.lower() == folded:
            return result_type(item, inner)
    return None


class TypedLike(Expression):
    """`node` rendered as it is, typed like `like` (a derived table's column holding `like`)."""

    __slots__ = ('node', 'typed_as')   # not `like`: that is Expression's LIKE operator

    def __init__(self, node: Any, like: Any) -> None:
        self.node = node
        self.typed_as = like

    @property
    def label(self) -> str | None:  # type: ignore[override]
        return getattr(self.node, 'label', None)

    def __sql__(self, ctx: Any) -> None:
        ctx.sql(self.node)


# -- rules of the base nodes --------------------------------------------------------------

@rule(TypedLike)
def _typed_like(node: TypedLike, scope: Scope) -> ColumnSpec | None:
    return result_type(node.typed_as, scope)


@rule(BoundValue)
def _bound(node: BoundValue, scope: Scope) -> ColumnSpec:
    spec: ColumnSpec = node.column.field.spec   # column: a ColumnRef (expressions.py imports this module)
    return spec


@rule(Value)
def _value(node: Value, scope: Scope) -> ColumnSpec | None:
    """The result type of a constant (a Decimal keeps its own number of places)."""
    value = node.value
    if value is None:
        return None
    if isinstance(value, decimal.Decimal):
        exponent = value.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        return ColumnSpec(decimal.Decimal, decimal_places=places)
    if type(value) in _CONSTANT_TYPES:
        return ColumnSpec(type(value))
    return None


_CONSTANT_TYPES = frozenset({bool, int, float, str, datetime.date, datetime.datetime, datetime.time})


@rule(Alias)
def _alias(node: Alias, scope: Scope) -> ColumnSpec | None:
    return result_type(node.expression, scope)


@rule(Negative)
def _negative(node: Negative, scope: Scope) -> ColumnSpec | None:
    return result_type(node.operand, scope)


@rule(And, Or, Not, IsNull, Like, In, Between, Exists)
def _condition_type(node: Any, scope: Scope) -> ColumnSpec:
    return BOOL


@rule(Cast)
def _cast(node: Cast, scope: Scope) -> ColumnSpec | None:
    if isinstance(node.to, str):
        return _named_type(node.to)
    return ColumnSpec(node.to)


def _named_type(type_name: str) -> ColumnSpec | None:
    """CAST(x AS 'NUMERIC(10, 2)') and the like: the common type names only."""
    text = type_name.strip().upper()
    base, _, arguments = text.partition('(')
    base = base.strip()
    if base in ('NUMERIC', 'DECIMAL'):
        parts = [part.strip() for part in arguments.rstrip(')').split(',')] if arguments else []
        places = int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else 0
        return ColumnSpec(decimal.Decimal, decimal_places=places)
    return _NAMED_TYPES.get(base)


_NAMED_TYPES = {'INTEGER': INT, 'INT': INT, 'BIGINT': INT, 'SMALLINT': INT, 'REAL': FLOAT,
                'DOUBLE PRECISION': FLOAT, 'FLOAT': FLOAT, 'DOUBLE': FLOAT, 'TEXT': TEXT,
                'VARCHAR': TEXT, 'CHAR': TEXT, 'DATE': ColumnSpec(datetime.date)}


@rule(Case)
def _case(node: Case, scope: Scope) -> ColumnSpec | None:
    branches: list[Any] = [result for _, result in node.whens]
    if node.default is not None:
        branches.append(node.default)
    return first_typed(branches, scope)


def first_typed(nodes: Iterable[Any], scope: Scope) -> ColumnSpec | None:
    """The type of the first node whose type is known (CASE branches, COALESCE arguments)."""
    for node in nodes:
        spec = result_type(node, scope)
        if spec is not None:
            return spec
    return None


_COMPARISONS = frozenset({'=', '<>', '<', '<=', '>', '>=', 'LIKE', 'IS', 'IS NOT'})


@rule(BinaryOp)
def _binary(node: BinaryOp, scope: Scope) -> ColumnSpec | None:
    if node.op in _COMPARISONS:
        return BOOL
    if node.op == '||':
        return TEXT
    return arithmetic_type(node.op, result_type(node.left, scope), result_type(node.right, scope))


def arithmetic_type(op: str, left: ColumnSpec | None, right: ColumnSpec | None) -> ColumnSpec | None:
    """The type of `left op right` for + - * / %: Decimal places follow SQL's exact rules."""
    if left is None or right is None:
        return None   # a raw fragment or an untyped value: the driver's value is kept
    types = {left.python_type, right.python_type}
    if not types <= {int, float, decimal.Decimal}:
        return None
    if float in types:
        return FLOAT
    if types == {int}:
        return None if op == '/' else INT   # int / int: integer division on some databases only
    left_places, right_places = _places(left), _places(right)
    if op == '*':
        places = left_places + right_places
    elif op == '/':
        places = left_places + DIVISION_PLACES
    else:
        places = max(left_places, right_places)
    return ColumnSpec(decimal.Decimal, decimal_places=places)


def _places(spec: ColumnSpec) -> int:
    return spec.decimal_places or 0 if spec.python_type is decimal.Decimal else 0


# -- readers ----------------------------------------------------------------------------

def reader(spec: ColumnSpec | None, dialect: Any) -> Converter | None:
    """The converter of a driver value to the result type's Python value (None: as is)."""
    if spec is None:
        return None
    python_type = spec.python_type
    if python_type is decimal.Decimal and spec.decimal_places is not None:
        return decimal_reader(spec.decimal_places)
    if python_type is int:
        return _to_int
    if python_type is float:
        return float
    if python_type is str:
        return None
    type_map = dialect.type_map
    try:
        if type_map is None:
            return None
        computed = type_map.computed_converters.get(type_map.kind_of(spec)) if type_map.computed_converters else None
        converter: Converter | None = computed if computed is not None else type_map.from_db(spec)
        return converter
    except Exception:   # a type the map cannot read: the driver's value is kept
        return None


def _to_int(value: Any) -> int:
    # SUM of integers is NUMERIC on PostgreSQL and DECIMAL on MySQL
    return value if type(value) is int else int(value)


def decimal_reader(places: int | None) -> Converter:
    """A Decimal rounded half-up to `places` (the exact result on every backend)."""
    if places is None:
        return to_decimal
    exponent = decimal.Decimal(1).scaleb(-places)
    half_up = decimal.ROUND_HALF_UP

    def read(value: Any) -> decimal.Decimal:
        return to_decimal(value).quantize(exponent, rounding=half_up)
    return read
