"""JSON documents and native arrays in expressions: paths, containment, key tests, overlaps, ANY.

    Post.c.meta['k'].astext == 'v'        PostgreSQL: ("posts"."meta" ->> CAST(? AS TEXT)) = ?
    Post.c.meta['a']['b'] == 3            (("posts"."meta" -> CAST(? AS TEXT)) -> ...) = CAST(? AS JSONB)
    Post.c.meta.contains({'k': 'v'})      "posts"."meta" @> CAST(? AS JSONB)
    Post.c.meta.has_key('k')              "posts"."meta" ? ?
    Post.c.tags.overlaps(['a', 'b'])      "posts"."tags" && ?          (native arrays)
    Post.c.tags.any_eq('a')               ? = ANY("posts"."tags")

Whether a list field is a JSON document or a native array is the dialect type map's decision,
made when the SQL is rendered; the SQL is the dialect's `operator_templates` ('json_member',
'json_contains', 'array_overlaps', ...). Keys and values are always bound parameters; the `?`
operators are told apart from placeholders by `features.question_mark_operators`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from ..backend.types import json_dumps
from ..errors import ActiveRecordError
from .tree import COMPARISON, Expression, Value
from .operations import Operation, Parameter, UnofferedOperators, render_operation

if TYPE_CHECKING:  # pragma: no cover
    from ..backend.dialect import SQLContext


class JsonOperators:
    """What a JSON (dict or list) column or path offers: [key], containment and key tests."""

    __slots__ = ()
    # __getitem__ must not make an expression iterable by the old sequence protocol.
    __iter__ = None

    def __getitem__(self, key: Any) -> 'JsonPath':
        """A member (str key) or element (int index) of the document: Post.c.meta['k']."""
        return JsonPath(self, key)

    def contains(self, value: Any) -> Expression:
        """The document or array contains `value` (a sub-object, sub-array or list of items)."""
        if not hasattr(value, '__sql__') and _is_array_field(self) and not isinstance(value, (list, tuple)):
            raise ActiveRecordError(f'contains() on the array {self!r} takes a list of items, got '
                                    f'{type(value).__name__} {value!r}; use any_eq() for one item')
        return DocumentOp(self, 'contains', value)

    def contained_by(self, value: Any) -> Expression:
        """The document or array is contained in `value`."""
        return DocumentOp(self, 'contained_by', value)

    def has_key(self, key: str) -> Expression:
        """The JSON object has the top-level key (PostgreSQL's `?`, which GIN indexes serve)."""
        return DocumentOp(self, 'has_key', Value(_keys((key,), 'has_key()')[0]), kind='json')

    def has_any_key(self, *keys: str) -> Expression:
        """The JSON object has at least one of the keys."""
        return DocumentOp(self, 'has_any_key', _key_list(keys, 'has_any_key()'), kind='json')

    def has_all_keys(self, *keys: str) -> Expression:
        """The JSON object has every one of the keys."""
        return DocumentOp(self, 'has_all_keys', _key_list(keys, 'has_all_keys()'), kind='json')


class ArrayOperators:
    """What a list column offers besides JsonOperators: overlaps and one-item equality."""

    __slots__ = ()

    def overlaps(self, values: Iterable[Any]) -> Expression:
        """The array shares at least one item with `values`."""
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise ActiveRecordError(f'overlaps() takes a list of items, got {type(values).__name__} {values!r}')
        return DocumentOp(self, 'overlaps', list(values))

    def any_eq(self, value: Any) -> Expression:
        """One of the array's items equals `value` (value = ANY(array))."""
        return DocumentOp(self, 'any_eq', value if hasattr(value, '__sql__') else Value(value), kind='array')


def json_value(value: Any) -> Operation:
    """A Python value bound as JSON text, typed as the dialect's JSON."""
    return Operation('json_value', (Parameter(json_dumps(value)),), 'json', 'a JSON value')


class JsonPath(JsonOperators, UnofferedOperators, Expression):
    """`document[key]` (its text with .astext); indexing again goes one level deeper."""

    __slots__ = ('document', 'key', 'as_text')

    def __init__(self, document: Any, key: Any, as_text: bool = False) -> None:
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            raise ActiveRecordError(f'a JSON key must be a str (object member) or an int (array index), '
                                    f'got {type(key).__name__} {key!r}')
        self.document = document
        self.key = key
        self.as_text = as_text

    @property
    def astext(self) -> 'JsonPath':
        """The same path read as text, for comparisons with strings."""
        return JsonPath(self.document, self.key, as_text=True)

    def __getitem__(self, key: Any) -> 'JsonPath':
        if self.as_text:
            raise ActiveRecordError('cannot index into .astext (it is text); index first, then take .astext')
        return JsonPath(self, key)

    def _bind(self, value: Any) -> Any:
        if hasattr(value, '__sql__'):
            return value
        # A JSON value compares with JSON (meta['n'] == 3 matches the number 3, not '3').
        return Value(value) if self.as_text else json_value(value)

    def __sql__(self, ctx: 'SQLContext') -> None:
        operation = ('json_element' if isinstance(self.key, int) else 'json_member') + ('_text' if self.as_text else '')
        render_operation(ctx, operation, (self.document, Parameter(self.key)), 'json', 'column[key]')

    def __repr__(self) -> str:
        return f'{self.document!r}[{self.key!r}]' + ('.astext' if self.as_text else '')


class DocumentOp(Expression):
    """`target <operation> operand` of a JSON document or native array (the 'json_'/'array_' template)."""

    __slots__ = ('target', 'name', 'operand', 'kind')
    precedence = COMPARISON

    def __init__(self, target: Any, name: str, operand: Any, kind: str | None = None) -> None:
        self.target = target
        self.name = name
        self.operand = operand
        self.kind = kind   # None: as the target is stored on the dialect rendered for

    def __sql__(self, ctx: 'SQLContext') -> None:
        stored = _stored_as(self.target, ctx)
        kind = self.kind or stored
        operation = f'{kind}_{self.name}'
        described = self.name if self.name == 'any_eq' else f'{self.name}()'
        templates = ctx.dialect.operator_templates
        # The dialect has arrays, this column is JSON there, and JSON has no such operation:
        # the column's storage is the problem, not the database (a list[dict] on PostgreSQL).
        if (stored == 'json' and f'array_{self.name}' in templates
                and (kind == 'array' or operation not in templates)):
            raise ActiveRecordError(f'{described} needs a native array column (list[int], list[str], ...); '
                                    f'{self.target!r} is stored as JSON')
        operand = self.operand
        if not hasattr(operand, '__sql__'):   # the operand as the target stores it
            operand = Value(list(operand)) if kind == 'array' else json_value(operand)
        render_operation(ctx, operation, (self.target, operand), kind, described)

    def __repr__(self) -> str:
        return f'{self.target!r}.{self.name}()'


def _stored_as(target: Any, ctx: 'SQLContext') -> str:
    """'json' or 'array': how the target is stored on this dialect."""
    if isinstance(target, JsonPath):
        return 'json'
    type_map = ctx.dialect.type_map
    return type_map.kind_of(target.field.spec) if type_map is not None else 'json'


def _is_array_field(target: Any) -> bool:
    field = getattr(target, 'field', None)
    return field is not None and field.python_type is list


def _keys(keys: Iterable[str], operation: str) -> list[str]:
    keys = list(keys)
    if not keys:
        raise ActiveRecordError(f'{operation} needs at least one key')
    for key in keys:
        if not isinstance(key, str):
            raise ActiveRecordError(f'{operation}: a JSON key must be a str, got {type(key).__name__} {key!r}')
    return keys


def _key_list(keys: Iterable[str], operation: str) -> Operation:
    """Keys bound as one parameter, typed as the dialect's list of text."""
    return Operation('json_keys', (Parameter(_keys(keys, operation)),), 'json', operation)
