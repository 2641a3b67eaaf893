"""JSON documents and native arrays in expressions: paths, containment, key tests, overlaps, ANY.

    Post.c.meta['k'].astext == 'v'        PostgreSQL: ("posts"."meta" ->> CAST(? AS TEXT)) = ?
    Post.c.meta['a']['b'] == 3            (("posts"."meta" -> CAST(? AS TEXT)) -> ...) = CAST(? AS JSONB)
    Post.c.meta.contains({'k': 'v'})      "posts"."meta" @> CAST(? AS JSONB)
    Post.c.meta.has_key('k')              "posts"."meta" ? ?
    Post.c.tags.overlaps(['a', 'b'])      "posts"."tags" && ?          (native arrays)
    Post.c.tags.any_eq('a')               ? = ANY("posts"."tags")

Paths are portable: a dialect with a 'json_path' template (SQLite json_extract, MySQL
JSON_EXTRACT/JSON_UNQUOTE, Oracle and SQL Server JSON_VALUE) gets the whole chain as one call
with one path string '$."a"[0]', and a compared Python value as the scalar that call returns
(JsonScalar); PostgreSQL keeps its -> / ->> chain and compares jsonb. docs/queries.md, "JSON
paths", states the meaning the live backends share.

Whether a list field is a JSON document or a native array is the dialect type map's decision,
made when the SQL is rendered; the SQL is the dialect's `operator_templates` ('json_member',
'json_contains', 'array_overlaps', ...). Keys and values are always bound parameters; the `?`
operators are told apart from placeholders by `features.question_mark_operators`.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

from ..backend.types import json_dumps
from ..errors import ActiveRecordError
from .tree import COMPARISON, Expression, Value
from .operations import Operation, Parameter, UnofferedOperators, render_operation
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
    return Operation('json_value', (Parameter(_json_text(value)),), 'json', 'a JSON value')


def _json_text(value: Any) -> str:
    """JSON text of a value; a finite Decimal is a JSON number (as a document stores 1.5), not a string."""
    if isinstance(value, Decimal) and value.is_finite():
        return str(value)
    return json_dumps(value)


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
        return Value(value) if self.as_text else JsonScalar(value)

    def _chain(self) -> tuple[Any, list[str | int]]:
        """(the document column, the keys from it down to this path)."""
        keys: list[str | int] = [self.key]
        document = self.document
        while isinstance(document, JsonPath):
            keys.append(document.key)
            document = document.document
        return document, keys[::-1]

    def __sql__(self, ctx: 'SQLContext') -> None:
        whole = 'json_path_text' if self.as_text else 'json_path'
        if whole in ctx.dialect.operator_templates:
            # databases with a path function (json_extract, JSON_VALUE): one call, one path string
            document, keys = self._chain()
            render_operation(ctx, whole, (document, JsonPathString(keys)), 'json', 'column[key]')
            return
        operation = ('json_element' if isinstance(self.key, int) else 'json_member') + ('_text' if self.as_text else '')
        render_operation(ctx, operation, (self.document, SharedParameter(self.key)), 'json', 'column[key]')

    def __repr__(self) -> str:
        return f'{self.document!r}[{self.key!r}]' + ('.astext' if self.as_text else '')


class SharedParameter(Expression):
    """A path's key or path string: bound, and where placeholders are numbered the same key bound
    again is the same placeholder, so that a path in the select list and in GROUP BY is one
    expression to the server."""

    __slots__ = ('value',)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __sql__(self, ctx: 'SQLContext') -> None:
        ctx.shared_param(self.value)

    def __repr__(self) -> str:
        return repr(self.value)


class JsonPathString(Expression):
    """A path string '$."a"[0]' for a path function: bound, or a quoted literal where it must be one."""

    __slots__ = ('keys',)

    def __init__(self, keys: list[str | int]) -> None:
        self.keys = keys

    def text(self) -> str:
        parts = ['$']
        for key in self.keys:
            if isinstance(key, int):
                if key < 0:
                    raise ActiveRecordError(f'a JSON array index must be 0 or more here, got {key!r}')
                parts.append(f'[{key}]')
            elif '"' in key or '\\' in key:
                raise ActiveRecordError(f'a JSON key in a path may not contain " or \\, got {key!r}')
            else:
                parts.append(f'."{key}"')
        return ''.join(parts)

    def __sql__(self, ctx: 'SQLContext') -> None:
        path = self.text()
        if ctx.dialect.json_path_literal:   # Oracle's JSON_VALUE takes no bound path
            ctx.literal("'" + path.replace("'", "''") + "'")
        else:
            ctx.shared_param(path)

    def __repr__(self) -> str:
        return f'JsonPathString({self.keys!r})'


#: Python types a JSON path's scalar compares with on every database
_SCALARS = (str, int, float, Decimal)


class JsonScalar(Expression):
    """A Python value compared with a JSON path: JSON where the database compares JSON
    (PostgreSQL's jsonb), else the scalar as the path function returns it ('json_scalar_json':
    the database reads the JSON text of the value; 'json_scalar': the value itself, a bool as the
    text 'true'/'false')."""

    __slots__ = ('value',)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __sql__(self, ctx: 'SQLContext') -> None:
        dialect = ctx.dialect
        templates = dialect.operator_templates
        if 'json_path' not in templates:
            json_value(self.value).__sql__(ctx)
            return
        value = self.value
        if not isinstance(value, _SCALARS):   # bool is an int
            raise ActiveRecordError(f'on {dialect.name} a JSON path compares with a str, int, float, Decimal or '
                                    f'bool; got {type(value).__name__} {value!r}')
        if 'json_scalar_json' in templates:
            render_operation(ctx, 'json_scalar_json', (Parameter(_json_text(value)),), 'json', 'a JSON value')
        else:
            plain = ('true' if value else 'false') if isinstance(value, bool) else value
            render_operation(ctx, 'json_scalar', (Parameter(plain),), 'json', 'a JSON value')

    def __repr__(self) -> str:
        return repr(self.value)


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
