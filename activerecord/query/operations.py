"""Vendor operations (JSON, arrays, full-text, spatial): generic nodes whose SQL is dialect data.

A node names an operation ('json_member', 'array_overlaps', 'match_boolean', 'st_within') and
holds its operands; `Dialect.operator_templates` maps the operation to SQL with `{0}`, `{1}`, ...
for the operands. A dialect without the entry does not support it: NotSupportedError names the
database and the family of operators. So a new database's JSON support is table entries in its
dialect, not a node class.
"""
from __future__ import annotations

from contextlib import nullcontext
from functools import lru_cache
from string import Formatter
from typing import Any, Sequence

from ..errors import ActiveRecordError, NotSupportedError
from .tree import ATOM, Expression, clause
from ..backend.dialect import SQLContext


#: family of operations -> (its name in a refusal, where to find it)
FAMILIES: dict[str, tuple[str, str]] = {
    'json': ('JSON operators', 'docs/queries.md, "JSON paths", lists what each database runs'),
    'array': ('native array operators', 'they need a PostgreSQL backend'),
    'fulltext': ('fulltext', 'it needs a MySQL or MariaDB backend'),
    'spatial': ('spatial', 'it needs a MySQL or MariaDB backend'),
}


@lru_cache(maxsize=None)
def _pieces(template: str) -> tuple[tuple[str, int | None], ...]:
    """'{0} @> {1}' -> (('', 0), (' @> ', 1)): text to write, then the operand that follows it."""
    return tuple((text, None if field is None else int(field)) for text, field, _, _ in Formatter().parse(template))


def render_operation(ctx: 'SQLContext', operation: str, operands: Sequence[Any], family: str,
                     description: str) -> None:
    """Write `operation` through the dialect's template, or refuse naming the database and the family."""
    dialect = ctx.dialect
    template = dialect.operator_templates.get(operation)
    if template is None:
        words, hint = FAMILIES[family]
        raise NotSupportedError(f'{dialect.name} does not support {words} ({description}); {hint}')
    for text, index in _pieces(template):
        if text:
            ctx.literal(text)
        if index is not None:
            ctx.sql(operands[index])


class Operation(Expression):
    """A vendor operation over operands; `arguments`: operands are a function's (no select-list CASTs)."""

    __slots__ = ('operation', 'operands', 'family', 'description', 'precedence', 'arguments')

    def __init__(self, operation: str, operands: Sequence[Any], family: str, description: str,
                 precedence: int = ATOM, arguments: bool = False) -> None:
        self.operation = operation
        self.operands = tuple(operands)
        self.family = family
        self.description = description
        self.precedence = precedence
        self.arguments = arguments

    def __sql__(self, ctx: 'SQLContext') -> None:
        with clause(ctx, 'argument') if self.arguments else nullcontext():
            render_operation(ctx, self.operation, self.operands, self.family, self.description)

    def __repr__(self) -> str:
        return f'{self.operation}({", ".join(map(repr, self.operands))})'


class Parameter(Expression):
    """A value bound as its own parameter (never shared with an equal constant)."""

    __slots__ = ('value',)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __sql__(self, ctx: 'SQLContext') -> None:
        ctx.param(self.value)

    def __repr__(self) -> str:
        return repr(self.value)


class ExpressionList(Expression):
    """Several expressions written with commas between them (the columns of one MATCH)."""

    __slots__ = ('items',)

    def __init__(self, items: Sequence[Any]) -> None:
        self.items = tuple(items)

    def __sql__(self, ctx: 'SQLContext') -> None:
        ctx.join(self.items)

    def __repr__(self) -> str:
        return ', '.join(map(repr, self.items))


class OperatorNotOffered(ActiveRecordError, AttributeError):
    """A vendor operator called on a column (or path) whose type does not offer it."""


#: operator method -> what it needs, for the error when a column of another type is asked for it
_NEEDS: dict[str, str] = {
    **dict.fromkeys(('contains', 'contained_by', 'has_key', 'has_any_key', 'has_all_keys'),
                    '{name}() needs a dict (JSON) or list (JSON/array) field; {target!r} is {kind}'),
    **dict.fromkeys(('overlaps', 'any_eq'), '{name}() needs a list field stored as a native array; '
                                            '{target!r} is not one'),
    'match': 'match() needs str fields with Column(fulltext=True); {target!r} is {kind}',
    **dict.fromkeys(('st_distance', 'st_distance_sphere', 'st_contains', 'st_within'),
                    '{name}() needs a Point or Geometry field; {target!r} is {kind}'),
}


def type_name(target: Any) -> str:
    """The Python type of a column's field (or the node's class), for messages."""
    python_type = getattr(getattr(target, 'field', None), 'python_type', None)
    return getattr(python_type, '__name__', type(target).__name__)


class UnofferedOperators:
    """The last operator mixin of every column: another type's operator is an AttributeError
    (it is not there) that also says which fields offer it (an ActiveRecordError, like any misuse)."""

    __slots__ = ()
    # __getitem__ alone would make every column iterable by the old sequence protocol.
    __iter__ = None

    def __getitem__(self, key: Any) -> Any:
        """Only JSON fields (and paths into them) take [key]: say so, as for a missing operator."""
        raise OperatorNotOffered(f'[{key!r}] needs a dict (JSON) or list (JSON/array) field; '
                                 f'{self!r} is {type_name(self)}')

    def __getattr__(self, name: str) -> Any:
        need = _NEEDS.get(name)
        if need is None:
            raise AttributeError(f'{type(self).__name__!r} object has no attribute {name!r}')
        raise OperatorNotOffered(need.format(name=name, target=self, kind=type_name(self)))
