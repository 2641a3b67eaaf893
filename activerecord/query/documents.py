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
(JsonScalar); PostgreSQL keeps its -> / ->> chain and compares jsonb. A path that is itself an
item of the select list whose rows are the result (compiler.py's `select_item`; its GROUP BY
too) is its JSON text instead ('json_path_json'), read back decoded (`selected_path_type`); on
PostgreSQL it stays the jsonb chain, which the driver decodes itself: the same Python value
everywhere. Anywhere else (a subquery, a CTE, inside a function, CASE or arithmetic, ORDER BY)
a path is the scalar its path function returns.
On those dialects contains() and the key tests take the document and a path string too, and
where there is no containment function (SQLite) `Containment` writes it out from the candidate
value. docs/queries.md, "JSON paths", states the meaning the live backends share.

Whether a list field is a JSON document or a native array is the dialect type map's decision,
made when the SQL is rendered; the SQL is the dialect's `operator_templates` ('json_member',
'json_contains', 'array_overlaps', ...). Keys and values are always bound parameters; the `?`
operators are told apart from placeholders by `features.question_mark_operators`.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Callable, Iterable, cast

from ..backend.types import ColumnSpec, json_dumps
from ..errors import ActiveRecordError
from .tree import COMPARISON, Expression, Value, clause
from .operations import Operation, Parameter, UnofferedOperators, render_operation
from .result_types import Scope, rule
from ..backend.dialect import Dialect, SQLContext



#: the clauses tree.py renders a select-list item in (an aliased one: 'select-item')
_SELECTED = frozenset({'select', 'select-item'})


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
        return DocumentOp(self, 'has_key', JsonKeys(_keys((key,), 'has_key()'), single=True), kind='json')

    def has_any_key(self, *keys: str) -> Expression:
        """The JSON object has at least one of the keys."""
        return DocumentOp(self, 'has_any_key', JsonKeys(_keys(keys, 'has_any_key()')), kind='json')

    def has_all_keys(self, *keys: str) -> Expression:
        """The JSON object has every one of the keys."""
        return DocumentOp(self, 'has_all_keys', JsonKeys(_keys(keys, 'has_all_keys()')), kind='json')


class ArrayOperators:
    """What a list column offers besides JsonOperators: overlaps and one-item equality."""

    __slots__ = ()

    def overlaps(self, values: Iterable[Any]) -> Expression:
        """The array shares at least one item with `values`."""
        if isinstance(values, (str, bytes)) or not isinstance(cast(object, values), Iterable):
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

    def chain(self) -> tuple[Any, list[str | int]]:
        """(the document column, the keys from it down to this path)."""
        keys: list[str | int] = [self.key]
        document = self.document
        while isinstance(document, JsonPath):
            keys.append(document.key)
            document = document.document
        return document, keys[::-1]

    def __sql__(self, ctx: 'SQLContext') -> None:
        if not self.as_text and 'json_path' in ctx.dialect.operator_templates and self._read_as_json(ctx):
            with clause(ctx, 'operand'):   # its own parts are operands, never selected values themselves
                self._render_json(ctx)
            return
        self._render(ctx)

    def _read_as_json(self, ctx: 'SQLContext') -> bool:
        """Whether this path is an item of the result's select list (decoded by selected_path_type),
        or is grouped by in that query: GROUP BY names the SQL selected (Oracle, SQL Server and
        MySQL's ONLY_FULL_GROUP_BY ask for that)."""
        state = ctx.state
        where = state.get('clause')
        if where == 'group':
            return bool(state.get('typed_group'))
        return where in _SELECTED and state.get('select_item') is self

    def _render(self, ctx: 'SQLContext') -> None:
        """The path as compared: the scalar a path function returns, or PostgreSQL's jsonb (->>: text)."""
        whole = 'json_path_text' if self.as_text else 'json_path'
        if whole in ctx.dialect.operator_templates:
            # databases with a path function (json_extract, JSON_VALUE): one call, one path string
            document, keys = self.chain()
            render_operation(ctx, whole, (document, JsonPathString(keys)), 'json', 'column[key]')
            return
        operation = ('json_element' if isinstance(self.key, int) else 'json_member') + ('_text' if self.as_text else '')
        render_operation(ctx, operation, (self.document, SharedParameter(self.key)), 'json', 'column[key]')

    def _render_json(self, ctx: 'SQLContext') -> None:
        """The path's value as JSON text ('json_path_json': a path function's JSON, with the parent
        path and the last key as {2} and {3} for databases that find a scalar's type by its parent).
        A dialect without it refuses by name: a scalar is never read back as JSON."""
        document, keys = self.chain()
        render_operation(ctx, 'json_path_json', (document, JsonPathString(keys), JsonPathString(keys[:-1]),
                                                 SharedParameter(str(keys[-1]))), 'json',
                         'column[key] selected as a JSON value; its .astext is its text')

    def __repr__(self) -> str:
        return f'{self.document!r}[{self.key!r}]' + ('.astext' if self.as_text else '')


@rule(JsonPath)
def _json_path_type(node: JsonPath, scope: Scope) -> ColumnSpec | None:
    """Inside an expression (MAX, COALESCE, CASE, a subquery or CTE column) a path is the scalar its
    path function returns (PostgreSQL: jsonb, which the driver decodes): the driver's value is kept."""
    return None


def selected_path_type(node: JsonPath, dialect: 'Dialect') -> ColumnSpec | None:
    """The result type of a path that is itself an item of the result's select list: its JSON text
    (JsonPath._render_json) read back decoded, the same str, int, float, bool, None, list or dict
    on every database; PostgreSQL's driver decodes the jsonb itself, and .astext is text."""
    return JSON_VALUE if not node.as_text and 'json_path' in dialect.operator_templates else None


#: the result type of a selected JSON path: the type map's JSON reader (json.loads of the text)
JSON_VALUE = ColumnSpec(dict)


class _Rendered(Expression):
    """SQL written by a callable: a node's own form given to a template as an operand."""

    __slots__ = ('render',)

    def __init__(self, render: Callable[['SQLContext'], object]) -> None:
        self.render = render

    def __sql__(self, ctx: 'SQLContext') -> None:
        self.render(ctx)


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


#: characters a path string cannot spell (JSON escapes them; SQLite's and MySQL's paths do not)
_CONTROL = re.compile(r'[\x00-\x1f]')


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
            elif _CONTROL.search(key):   # no path syntax escapes them: such a key would match nothing
                raise ActiveRecordError(f'a JSON key in a path may not contain a control character (newline, '
                                        f'tab, ...): a path function cannot spell it (only PostgreSQL\'s '
                                        f'operators take such keys), got {key!r}')
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
        with clause(ctx, 'operand'):   # the target is a document here, not a selected value
            if kind == 'json' and 'json_path' in templates:
                self._render_by_path(ctx, operation, described)
                return
            operand = self.operand
            if not hasattr(operand, '__sql__'):   # the operand as the target stores it
                operand = Value(list(operand)) if kind == 'array' else json_value(operand)
            render_operation(ctx, operation, (self.target, operand), kind, described)

    def _render_by_path(self, ctx: 'SQLContext', operation: str, described: str) -> None:
        """Databases with a path function: the document and a path string to the target
        ({0}, {2}), so that a path target is one path; a key test is its path from the document
        ({1}), with the key itself as {2} and the target's path as {3}."""
        document, keys = _document_and_keys(self.target)
        templates = ctx.dialect.operator_templates
        if (keys or _may_be_null(document)) and 'json_missing' in templates:
            # as PostgreSQL's (doc -> 'a') ? 'k': unknown (NULL) where the target path is missing, and
            # as its doc ? 'k' on a NULL document (path '$'), so that NOT ... selects neither
            ctx.literal('CASE WHEN ')
            render_operation(ctx, 'json_missing', (document, JsonPathString(keys)), 'json', described)
            ctx.literal(' THEN NULL ELSE ')
            self._render_test(ctx, document, keys, operation, described)
            ctx.literal(' END')
            return
        self._render_test(ctx, document, keys, operation, described)

    def _render_test(self, ctx: 'SQLContext', document: Any, keys: list[str | int], operation: str,
                     described: str) -> None:
        templates = ctx.dialect.operator_templates
        if isinstance(self.operand, JsonKeys):
            tests = self.operand.keys
            joiner = ' AND ' if self.name == 'has_all_keys' else ' OR '
            if len(tests) > 1:
                ctx.literal('(')
            for index, key in enumerate(tests):
                if index:
                    ctx.literal(joiner)
                render_operation(ctx, 'json_has_key', (document, JsonPathString([*keys, key]), SharedParameter(key),
                                                       JsonPathString(keys)), 'json', described)
            if len(tests) > 1:
                ctx.literal(')')
            return
        operand = self.operand
        if operation == 'json_contains' and operation not in templates and 'json_each' in templates:
            if hasattr(operand, '__sql__'):
                raise ActiveRecordError(f'on {ctx.dialect.name} contains() takes a Python value (dict, list, '
                                        f'str, number, bool or None), got the expression {operand!r}')
            Containment(document, keys, operand).__sql__(ctx)
            return
        if not hasattr(operand, '__sql__'):
            operand = json_value(operand)
        render_operation(ctx, operation, (document, operand, JsonPathString(keys)), 'json', described)

    def __repr__(self) -> str:
        return f'{self.target!r}.{self.name}()'


def _may_be_null(document: Any) -> bool:
    """Whether a document column can be NULL (a column of a CTE or derived table: it may)."""
    field = getattr(document, 'field', None)
    return field is None or bool(field.spec.nullable)


def _document_and_keys(target: Any) -> tuple[Any, list[str | int]]:
    """(the document column, the keys to the target): a JSON path target is its column and keys."""
    if isinstance(target, JsonPath) and not target.as_text:
        return target.chain()
    return target, []


class JsonKeys(Expression):
    """The keys of has_key() (one bound key) or has_any_key()/has_all_keys() (one bound list of text)."""

    __slots__ = ('keys', 'single')

    def __init__(self, keys: list[str], single: bool = False) -> None:
        self.keys = keys
        self.single = single

    def __sql__(self, ctx: 'SQLContext') -> None:
        if self.single:
            Value(self.keys[0]).__sql__(ctx)
        else:
            Operation('json_keys', (Parameter(self.keys),), 'json', 'a list of keys').__sql__(ctx)

    def __repr__(self) -> str:
        return repr(self.keys[0] if self.single else self.keys)


#: JSON kinds as json_type() and json_each's type column name them, on a database whose
#: containment is written out from the candidate value ('json_type' and 'json_each' templates)
_TYPE_NAMES: dict[str, tuple[str, ...]] = {
    'object': ('object',), 'array': ('array',), 'string': ('text',), 'number': ('integer', 'real'),
    'true': ('true',), 'false': ('false',), 'null': ('null',)}


class Containment(Expression):
    """document[keys] @> candidate where the database has no containment operator: written out
    from the candidate value as PostgreSQL defines it (an object has each key with a contained
    value, an array has an element containing each item, scalars are equal, and at the top an
    array contains a scalar it has as an element), with json_type() and json_each()."""

    __slots__ = ('document', 'keys', 'candidate')

    def __init__(self, document: Any, keys: list[str | int], candidate: Any) -> None:
        self.document = document
        self.keys = keys
        self.candidate = candidate

    def __sql__(self, ctx: 'SQLContext') -> None:
        self._at(ctx, self.document, self.keys, self.candidate, 0, top=True)

    def _at(self, ctx: 'SQLContext', document: Any, keys: list[str | int], candidate: Any, depth: int,
            top: bool = False) -> None:
        """`document` at `keys` contains `candidate`."""
        path = JsonPathString(keys)
        kind = _json_kind(candidate)
        if kind in ('object', 'array'):
            ctx.literal('(')
            self._type_is(ctx, document, path, kind)
            if kind == 'object':
                for key, value in candidate.items():
                    if not isinstance(key, str):
                        raise ActiveRecordError(f'contains(): a JSON object key must be a str, got '
                                                f'{type(key).__name__} {key!r}')
                    ctx.literal(' AND ')
                    self._at(ctx, document, [*keys, key], value, depth)
            else:
                for item in candidate:
                    ctx.literal(' AND ')
                    self._element(ctx, document, path, item, depth)
            ctx.literal(')')
            return
        ctx.literal('(')
        self._scalar_at(ctx, document, path, candidate, kind)
        if top:   # PostgreSQL: '["a", "b"]' @> '"a"'
            ctx.literal(' OR (')
            self._type_is(ctx, document, path, 'array')
            ctx.literal(' AND ')
            self._element(ctx, document, path, candidate, depth)
            ctx.literal(')')
        ctx.literal(')')

    def _element(self, ctx: 'SQLContext', document: Any, path: 'JsonPathString', item: Any, depth: int) -> None:
        """EXISTS an element of the array at `path` containing `item`."""
        alias = f'ar_e{depth}'

        def condition(inner: 'SQLContext') -> None:
            kind = _json_kind(item)
            names = _TYPE_NAMES[kind]
            inner.identifier(alias, 'type').literal(" IN ('" + "', '".join(names) + "')")
            if kind in ('object', 'array'):
                # CASE: the element's value is JSON text only when it is an object or array
                inner.literal(' AND CASE WHEN ').identifier(alias, 'type').literal(f" = '{names[0]}' THEN ")
                self._at(inner, _Rendered(lambda c: c.identifier(alias, 'value')), [], item, depth + 1)
                inner.literal(' ELSE ' + inner.dialect.boolean_literals[False] + ' END')
            elif kind in ('string', 'number'):
                inner.literal(' AND ').identifier(alias, 'value').literal(' = ').param(_scalar(item))
        render_operation(ctx, 'json_each', (document, path, _Rendered(lambda c: c.identifier(alias)),
                                            _Rendered(condition)), 'json', 'contains()')

    def _scalar_at(self, ctx: 'SQLContext', document: Any, path: 'JsonPathString', value: Any, kind: str) -> None:
        self._type_is(ctx, document, path, kind)
        if kind in ('string', 'number'):
            ctx.literal(' AND ')
            render_operation(ctx, 'json_path', (document, path), 'json', 'contains()')
            ctx.literal(' = ').param(_scalar(value))

    @staticmethod
    def _type_is(ctx: 'SQLContext', document: Any, path: 'JsonPathString', kind: str) -> None:
        render_operation(ctx, 'json_type', (document, path), 'json', 'contains()')
        ctx.literal(" IN ('" + "', '".join(_TYPE_NAMES[kind]) + "')")

    def __repr__(self) -> str:
        return f'Containment({self.document!r}, {self.keys!r}, {self.candidate!r})'


def _json_kind(value: Any) -> str:
    """The JSON kind a Python value is stored as ('object', 'array', 'string', 'number', ...)."""
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, dict):
        return 'object'
    if isinstance(value, (list, tuple)):
        return 'array'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, (int, float, Decimal)):
        return 'number'
    raise ActiveRecordError(f'contains() takes JSON values (dict, list, str, int, float, Decimal, bool, None); '
                            f'got {type(value).__name__} {value!r}')


def _scalar(value: Any) -> Any:
    """A number as the path function returns it (a Decimal as the double JSON reads it as)."""
    return float(value) if isinstance(value, Decimal) else value


def _stored_as(target: Any, ctx: 'SQLContext') -> str:
    """'json' or 'array': how the target is stored on this dialect."""
    if isinstance(target, JsonPath):
        return 'json'
    type_map = ctx.dialect.type_map
    return type_map.kind_of(target.field.spec) if type_map is not None else 'json'


def _is_array_field(target: Any) -> bool:
    field = getattr(target, 'field', None)
    return field is not None and field.python_type is list


def _keys(keys: Iterable[object], operation: str) -> list[str]:
    checked: list[str] = []
    for key in keys:
        if not isinstance(key, str):
            raise ActiveRecordError(f'{operation}: a JSON key must be a str, got {type(key).__name__} {key!r}')
        checked.append(key)
    if not checked:
        raise ActiveRecordError(f'{operation} needs at least one key')
    return checked

