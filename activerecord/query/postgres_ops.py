"""PostgreSQL's JSONB and array operators for column expressions.

    Post.c.meta['k'].astext == 'v'        ("posts"."meta" ->> ?) = ?
    Post.c.meta['a']['b'] == 3            (("posts"."meta" -> ?) -> ?) = CAST(? AS JSONB)
    Post.c.meta.contains({'k': 'v'})      "posts"."meta" @> CAST(? AS JSONB)
    Post.c.meta.has_key('k')              "posts"."meta" ? ?
    Post.c.tags.contains(['a'])           "posts"."tags" @> ?          (native arrays)
    Post.c.tags.overlaps(['a', 'b'])      "posts"."tags" && ?
    Post.c.tags.any_eq('a')               ? = ANY("posts"."tags")

`ColumnRef` delegates its `[key]`, `contains`, `has_key`, `has_any_key`, `has_all_keys`,
`overlaps` and `any_eq` here. Whether a column is a JSON document or a native array is the
dialect type map's decision, made when the SQL is rendered; a dialect without the feature
flag (`json_operators`, `arrays`) raises NotSupportedError naming the database and the feature.
Keys and values are always bound parameters. The `?` operators are told apart from
placeholders by the placeholder translation (`features.question_mark_operators`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from ..backend.types import json_dumps
from ..errors import ActiveRecordError, NotSupportedError

if TYPE_CHECKING:  # pragma: no cover
    from ..backend.dialect import SQLContext


class DocumentOperators:
    """JSON and array operators of a column (a base class of ColumnRef) or of a JSON path."""

    __slots__ = ()
    # __getitem__ must not make an expression iterable by the old sequence protocol.
    __iter__ = None

    def __getitem__(self, key: Any) -> 'JsonPath':
        """A member (str key) or element (int index) of a JSON field: Post.c.meta['k']."""
        return json_item(self, key)

    def contains(self, value: Any) -> Any:
        """The JSON document or array contains `value` (@>)."""
        if not _is_document(self):
            inherited = getattr(super(), 'contains', None)  # e.g. a text `contains` of the query layer
            if inherited is not None:
                return inherited(value)
        return contains(self, value)

    def contained_by(self, value: Any) -> 'DocumentOp':
        """The JSON document or array is contained in `value` (<@)."""
        return contained_by(self, value)

    def has_key(self, key: str) -> 'DocumentOp':
        """The JSON object has the top-level key (?)."""
        return has_key(self, key)

    def has_any_key(self, *keys: str) -> 'DocumentOp':
        """The JSON object has one of the keys (?|)."""
        return has_any_key(self, *keys)

    def has_all_keys(self, *keys: str) -> 'DocumentOp':
        """The JSON object has all of the keys (?&)."""
        return has_all_keys(self, *keys)

    def overlaps(self, values: Iterable[Any]) -> 'DocumentOp':
        """The native array shares an item with `values` (&&)."""
        return overlaps(self, values)

    def any_eq(self, value: Any) -> 'AnyEq':
        """One item of the native array equals `value` (value = ANY(array))."""
        return any_eq(self, value)


# Imported after DocumentOperators on purpose: expressions.py imports DocumentOperators for
# ColumnRef, so whichever of the two modules is imported first, the other finds what it needs.
from .expressions import ATOM, COMPARISON, Expression, Value, render_operand  # noqa: E402

#: what each feature flag lets a user write, for the NotSupportedError message
_FEATURE_NAMES = {'json_operators': 'JSON operators', 'arrays': 'native array operators'}


def _require(ctx: 'SQLContext', flag: str, operation: str) -> None:
    dialect = ctx.dialect
    if not getattr(dialect.features, flag):
        raise NotSupportedError(f'{dialect.name} does not support {_FEATURE_NAMES[flag]} ({operation}); '
                                'they need a PostgreSQL backend')


def _document_kind(target: Any, ctx: 'SQLContext') -> str:
    """'json' or 'array': how the target is stored on this dialect."""
    if isinstance(target, JsonPath):
        return 'json'
    spec = target.field.spec
    type_map = ctx.dialect.type_map
    return type_map.kind_of(spec) if type_map is not None else 'json'


def _describe(target: Any) -> str:
    return repr(target)


def _is_document(target: Any) -> bool:
    field = getattr(target, 'field', None)
    return isinstance(target, JsonPath) or (field is not None and field.python_type in (dict, list))


def _check_document(target: Any, operation: str) -> None:
    """Only JSON (dict/list) fields and paths into them take these operators."""
    if isinstance(target, JsonPath):
        return
    field = getattr(target, 'field', None)
    if field is None or field.python_type not in (dict, list):
        kind = getattr(getattr(field, 'python_type', None), '__name__', type(target).__name__)
        raise ActiveRecordError(f'{operation} needs a dict (JSON) or list (JSON/array) field; '
                                f'{_describe(target)} is {kind}')


class JsonValue(Expression):
    """A Python value bound as JSON text and cast to JSONB."""

    __slots__ = ('value',)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __sql__(self, ctx: 'SQLContext') -> None:
        ctx.literal('CAST(').param(json_dumps(self.value)).literal(' AS JSONB)')


class JsonPath(DocumentOperators, Expression):
    """`document -> key` (or `->> key` with .astext); indexing again goes one level deeper."""

    __slots__ = ('document', 'key', 'as_text')
    precedence = ATOM   # always rendered in parentheses

    def __init__(self, document: Any, key: Any, as_text: bool = False) -> None:
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            raise ActiveRecordError(f'a JSON key must be a str (object member) or an int (array index), '
                                    f'got {type(key).__name__} {key!r}')
        self.document = document
        self.key = key
        self.as_text = as_text

    @property
    def astext(self) -> 'JsonPath':
        """The same path read as text (->>), for comparisons with strings."""
        return JsonPath(self.document, self.key, as_text=True)

    def __getitem__(self, key: Any) -> 'JsonPath':
        if self.as_text:
            raise ActiveRecordError('cannot index into .astext (it is text); index first, then take .astext')
        return JsonPath(self, key)

    def _bind(self, value: Any) -> Any:
        if hasattr(value, '__sql__'):
            return value
        # A JSON value compares with JSON (meta['n'] == 3 matches the number 3, not '3').
        return Value(value) if self.as_text else JsonValue(value)

    def __sql__(self, ctx: 'SQLContext') -> None:
        _require(ctx, 'json_operators', 'column[key]')
        ctx.literal('(')
        render_operand(ctx, self.document, COMPARISON + 1)
        cast = 'INTEGER' if isinstance(self.key, int) else 'TEXT'
        ctx.literal(' ->> ' if self.as_text else ' -> ').literal('CAST(').param(self.key).literal(f' AS {cast}))')

    def __repr__(self) -> str:
        return f'{self.document!r}[{self.key!r}]' + ('.astext' if self.as_text else '')


class DocumentOp(Expression):
    """`document <op> operand` for JSONB and arrays, feature-checked when rendered."""

    __slots__ = ('target', 'op', 'operand', 'operation')
    precedence = COMPARISON

    def __init__(self, target: Any, op: str, operand: Any, operation: str) -> None:
        self.target = target
        self.op = op
        self.operand = operand
        self.operation = operation

    def __sql__(self, ctx: 'SQLContext') -> None:
        kind = _document_kind(self.target, ctx)
        _require(ctx, 'arrays' if kind == 'array' else 'json_operators', self.operation)
        render_operand(ctx, self.target, COMPARISON, strict=True)
        ctx.literal(f' {self.op} ')
        operand = self.operand
        if callable(operand):
            operand = operand(kind)
        ctx.sql(operand)

    def __repr__(self) -> str:
        return f'{self.target!r}.{self.operation}'


class AnyEq(Expression):
    """`value = ANY(array column)`."""

    __slots__ = ('target', 'value')
    precedence = COMPARISON

    def __init__(self, target: Any, value: Any) -> None:
        self.target = target
        self.value = value

    def __sql__(self, ctx: 'SQLContext') -> None:
        _require(ctx, 'arrays', 'any_eq')
        if _document_kind(self.target, ctx) != 'array':
            raise ActiveRecordError(f'any_eq needs a native array column (list[int], list[str], ...); '
                                    f'{self.target!r} is stored as JSON')
        ctx.sql(self.value if hasattr(self.value, '__sql__') else Value(self.value))
        ctx.literal(' = ANY(').sql(self.target).literal(')')


# -- what ColumnRef delegates to ---------------------------------------------------------

def json_item(target: Any, key: Any) -> JsonPath:
    """`target[key]`: a member (str) or element (int) of a JSON document."""
    _check_document(target, f'[{key!r}]')
    return JsonPath(target, key)


def _array_or_json(target: Any, value: Any):
    """The operand as the target stores it: a native array parameter, or JSONB."""
    def operand(kind: str) -> Any:
        if hasattr(value, '__sql__'):
            return value
        if kind == 'array':
            return Value(list(value))
        return JsonValue(value)
    return operand


def contains(target: Any, value: Any) -> DocumentOp:
    """The document/array contains `value` (@>): a sub-object, sub-array or list of items."""
    _check_document(target, 'contains()')
    if not hasattr(value, '__sql__') and _is_array_field(target) and not isinstance(value, (list, tuple)):
        raise ActiveRecordError(f'contains() on the array {target!r} takes a list of items, got '
                                f'{type(value).__name__} {value!r}; use any_eq() for one item')
    return DocumentOp(target, '@>', _array_or_json(target, value), 'contains()')


def contained_by(target: Any, value: Any) -> DocumentOp:
    """The document/array is contained in `value` (<@)."""
    _check_document(target, 'contained_by()')
    return DocumentOp(target, '<@', _array_or_json(target, value), 'contained_by()')


def has_key(target: Any, key: str) -> DocumentOp:
    """The JSON object has the top-level key (the JSONB `?` operator, which GIN indexes serve)."""
    _check_document(target, 'has_key()')
    _check_keys((key,), 'has_key()')
    return DocumentOp(target, '?', Value(key), 'has_key()')


def has_any_key(target: Any, *keys: str) -> DocumentOp:
    """The JSON object has at least one of the keys (?|)."""
    _check_document(target, 'has_any_key()')
    _check_keys(keys, 'has_any_key()')
    return DocumentOp(target, '?|', _TextArray(keys), 'has_any_key()')


def has_all_keys(target: Any, *keys: str) -> DocumentOp:
    """The JSON object has every one of the keys (?&)."""
    _check_document(target, 'has_all_keys()')
    _check_keys(keys, 'has_all_keys()')
    return DocumentOp(target, '?&', _TextArray(keys), 'has_all_keys()')


def overlaps(target: Any, values: Iterable[Any]) -> DocumentOp:
    """The array shares at least one item with `values` (&&)."""
    _check_document(target, 'overlaps()')
    if not _is_array_field(target):
        raise ActiveRecordError(f'overlaps() needs a list field stored as a native array; {target!r} is not one')
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ActiveRecordError(f'overlaps() takes a list of items, got {type(values).__name__} {values!r}')
    return DocumentOp(target, '&&', _array_or_json(target, list(values)), 'overlaps()')


def any_eq(target: Any, value: Any) -> AnyEq:
    """One of the array's items equals `value` (value = ANY(array))."""
    _check_document(target, 'any_eq()')
    if not _is_array_field(target):
        raise ActiveRecordError(f'any_eq() needs a list field stored as a native array; {target!r} is not one')
    return AnyEq(target, value)


class _TextArray(Expression):
    """Keys bound as one text[] parameter."""

    __slots__ = ('keys',)

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = list(keys)

    def __sql__(self, ctx: 'SQLContext') -> None:
        ctx.literal('CAST(').param(self.keys).literal(' AS TEXT[])')


def _is_array_field(target: Any) -> bool:
    field = getattr(target, 'field', None)
    return field is not None and field.python_type is list


def _check_keys(keys: Iterable[str], operation: str) -> None:
    keys = list(keys)
    if not keys:
        raise ActiveRecordError(f'{operation} needs at least one key')
    for key in keys:
        if not isinstance(key, str):
            raise ActiveRecordError(f'{operation}: a JSON key must be a str, got {type(key).__name__} {key!r}')
