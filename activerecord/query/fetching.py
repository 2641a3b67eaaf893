"""Running a query: the result methods shared by Query and the set operations (union, ...)."""
from __future__ import annotations

from typing import Any, Callable, Generic, Iterator, Sequence, TypeVar

from ..backend.dialect import Dialect, SQLContext
from ..backend.types import ColumnSpec
from ..errors import ActiveRecordError, MultipleRecordsFound, RecordNotFound
from .cte import render_statement
from .tree import Alias
from .expressions import ColumnRef
from .functions import Function
from .documents import JsonPath, selected_path_type
from .result_types import Scope, reader, result_type, scope_of
from ..backend.base import StorageBackend
from .model_types import ModelClass



def _converter_of(item: Any, dialect: Dialect, scope: Callable[[], Scope]) -> Callable[[Any], Any] | None:
    expression = item.expression if isinstance(item, Alias) else item
    if isinstance(expression, ColumnRef):
        converter = expression.from_db_converter(dialect)
        # rows_to_dicts never passes None to a converter: the None-safe wrapper's inner
        # converter (model.metadata._none_safe sets __wrapped__) saves a call per value
        inner: Callable[[Any], Any] | None = getattr(converter, '__wrapped__', converter)
        return inner
    if isinstance(expression, JsonPath):   # the item itself, not a path inside an expression
        return cached_reader(selected_path_type(expression, dialect), dialect)
    # a computed expression: converted by its result type (SUM of money is exact Decimal, ...)
    return cached_reader(result_type(expression, scope()), dialect)


def row_converters(items: Sequence[Any] | None, labels: Sequence[str], dialect: Dialect,
                   query: Any = None) -> list[tuple[int, Callable[[Any], Any]]]:
    """(index, converter) for every result column whose type needs converting (resolved once per run)."""
    if items is None or len(items) != len(labels):
        return []
    scopes: list[Scope] = []

    def scope() -> Scope:   # built only when a computed column needs it
        if not scopes:
            scopes.append(scope_of(query) if query is not None else Scope())
        return scopes[0]
    result: list[tuple[int, Callable[[Any], Any]]] = []
    for index, item in enumerate(items):
        converter = _converter_of(item, dialect, scope)
        if converter is not None:
            result.append((index, converter))
    return result


_readers: dict[tuple[Any, ...], Callable[[Any], Any] | None] = {}


def cached_reader(spec: ColumnSpec | None, dialect: Dialect) -> Callable[[Any], Any] | None:
    """reader() memoized by type, so that a query shape reuses its converters (and row builder)."""
    if spec is None:
        return None
    key = (type(dialect), spec.python_type, spec.decimal_places, spec.timezone, spec.container,
           spec.item_type)
    try:
        if key in _readers:
            return _readers[key]
    except TypeError:   # an unhashable type annotation: not memoized
        return reader(spec, dialect)
    converter = reader(spec, dialect)
    if len(_readers) < 1024:
        _readers[key] = converter
    return converter


def rows_to_dicts(labels: Sequence[str], rows: Sequence[tuple[Any, ...]],
                  converters: Sequence[tuple[int, Callable[[Any], Any]]]) -> list[dict[str, Any]]:
    """Rows as dicts keyed by column label, model columns converted to their Python types."""
    if not converters:
        return [dict(zip(labels, row)) for row in rows]
    if len(rows) > 16 and 0 < len(labels) <= 255 and all(type(label) is str for label in labels):
        return _dict_builder(tuple(labels), tuple(converters))(rows)
    result: list[dict[str, Any]] = []
    for row in rows:
        values = list(row)
        for index, converter in converters:
            if values[index] is not None:
                values[index] = converter(values[index])
        result.append(dict(zip(labels, values)))
    return result


_dict_builders: dict[tuple[Any, ...], Callable[[Sequence[tuple[Any, ...]]], list[dict[str, Any]]]] = {}


def _dict_builder(labels: tuple[str, ...], converters: tuple[tuple[int, Callable[[Any], Any]], ...]
                  ) -> Callable[[Sequence[tuple[Any, ...]]], list[dict[str, Any]]]:
    """rows_to_dicts as generated code: one dict display per row (cheaper than list() + dict(zip()))."""
    key = (labels, converters)
    cacheable = True
    try:
        build = _dict_builders.get(key)
    except TypeError:   # an unhashable converter: built every time
        cacheable, build = False, None
    if build is None:
        namespace: dict[str, Any] = {}
        converted = dict(converters)
        items: list[str] = []
        for index, label in enumerate(labels):   # a repeated label keeps its last value, as dict(zip()) does
            if index in converted:
                namespace[f'c{index}'] = converted[index]
                items.append(f'{label!r}: None if v{index} is None else c{index}(v{index})')
            else:
                items.append(f'{label!r}: v{index}')
        source = '\n'.join([
            'def build(rows):',
            '    return [{' + ', '.join(items) + '} for ' + ', '.join(f'v{i}' for i in range(len(labels)))
            + ', in rows]'])
        exec(compile(source, '<activerecord dict rows>', 'exec'), namespace)  # labels are repr()s
        build = namespace['build']
        if cacheable and len(_dict_builders) < 256:   # ad-hoc selects: keep the cache bounded
            _dict_builders[key] = build
    return build


def aggregate_value(function: str, expression: Any, value: Any, dialect: Dialect) -> Any:
    """An aggregate's result in its result type (the same Python type and value on every backend)."""
    if value is None:
        return None
    if function == 'count':
        return int(value)
    converter = cached_reader(result_type(Function(function, (expression,))), dialect)
    return value if converter is None else converter(value)


def _positive_int(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ActiveRecordError(f'{what} must be a positive int, got {value!r}')
    return value


T = TypeVar('T')  # the model a query returns rows of (annotations only)


class Fetching(Generic[T]):
    """Result methods; a subclass renders itself with `_render(ctx)` and knows its model."""

    __slots__ = ()

    model: ModelClass
    _as_dicts: bool

    # -- what subclasses provide ----------------------------------------------------------

    def _render(self, ctx: SQLContext) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _render_aggregate(self, ctx: SQLContext, function: str, expression: Any) -> None:  # pragma: no cover
        raise NotImplementedError

    def _render_exists(self, ctx: SQLContext) -> None:  # pragma: no cover
        raise NotImplementedError

    def result_items(self) -> tuple[Any, ...] | None:  # pragma: no cover
        """The select list's items (None when unknown)."""
        raise NotImplementedError

    def _after_load(self, records: list[Any]) -> None:
        """Hook: work on freshly built records (eager loading)."""

    def _ordered_for_first(self) -> 'Fetching[T]':  # pragma: no cover
        raise NotImplementedError

    def _with_limit(self, limit: int) -> 'Fetching[T]':  # pragma: no cover
        raise NotImplementedError

    # -- SQL --------------------------------------------------------------------------------

    def to_sql(self, dialect: Dialect | None = None) -> tuple[str, tuple[Any, ...]]:
        """(sql, params) with `?` placeholders, for the model's backend or the given dialect."""
        if dialect is None:
            dialect = self.model.backend().dialect
        return render_statement(dialect, self._render, self._as_dicts)

    def result_labels(self) -> list[str | None] | None:
        """The labels of the result columns, where the query knows them."""
        items = self.result_items()
        return None if items is None else [getattr(item, 'label', None) for item in items]

    # -- rows -----------------------------------------------------------------------------

    def _backend(self) -> 'StorageBackend':
        # the model's table is checked against its fields before its first query runs
        return self.model._checked_backend()  # pyright: ignore[reportPrivateUsage]  # the model's hook for this layer

    def _convert(self, dialect: Dialect, labels: list[str], rows: list[tuple[Any, ...]]) -> list[Any]:
        if self._as_dicts:
            return rows_to_dicts(labels, rows, row_converters(self.result_items(), labels, dialect, self))
        records = self.model._from_rows(labels, rows)  # pyright: ignore[reportPrivateUsage]  # the model's hook for this layer
        self._after_load(records)
        return records

    def all(self) -> list[T]:
        """Every row: model instances, or dicts after as_dicts()."""
        backend = self._backend()
        sql, params = render_statement(backend.dialect, self._render, self._as_dicts)
        labels, rows = backend.query_rows(sql, params)
        return self._convert(backend.dialect, labels, rows)

    def __iter__(self) -> Iterator[T]:
        return iter(self.all())

    def iter(self, batch_size: int = 1000) -> Iterator[T]:
        """Stream the rows, `batch_size` at a time: memory stays flat however many there are."""
        _positive_int(batch_size, 'iter(batch_size=...)')
        backend = self._backend()
        dialect = backend.dialect
        sql, params = render_statement(dialect, self._render, self._as_dicts)
        converters = None
        for labels, batch in backend.iter_rows(sql, params, batch_size):
            if self._as_dicts:
                if converters is None:
                    converters = row_converters(self.result_items(), labels, dialect, self)
                dict_rows: list[Any] = rows_to_dicts(labels, batch, converters)   # T is dict[str, Any] here
                yield from dict_rows
            else:
                records = self.model._from_rows(labels, batch)  # pyright: ignore[reportPrivateUsage]  # the model's hook for this layer
                self._after_load(records)
                yield from records

    def first(self) -> T | None:
        """The first row (ordered by primary key unless the query is ordered), or None."""
        rows = self._ordered_for_first()._with_limit(1).all()
        return rows[0] if rows else None

    def one(self) -> T:
        """The only row; RecordNotFound when there is none, MultipleRecordsFound when more."""
        rows = self._with_limit(2).all()
        if not rows:
            raise RecordNotFound(f'{self.model.__name__}: the query found no row: {self._describe()}')
        if len(rows) > 1:
            raise MultipleRecordsFound(f'{self.model.__name__}: one() expected one row, the query found '
                                       f'more: {self._describe()}')
        return rows[0]

    def _describe(self) -> str:
        try:
            return self.to_sql()[0]
        except Exception:  # a message must not fail because the SQL cannot be shown
            return repr(self)

    def _scalar(self, render: Callable[[SQLContext], None]) -> Any:
        backend = self._backend()
        sql, params = render_statement(backend.dialect, render)
        _, rows = backend.query_rows(sql, params)
        return rows[0][0] if rows else None

    def count(self) -> int:
        """The number of rows the query returns."""
        return int(self._scalar(lambda ctx: self._render_aggregate(ctx, 'count', None)) or 0)

    def exists(self) -> bool:
        """Whether the query returns at least one row."""
        return self._scalar(self._render_exists) is not None   # the probe selects 1

    def _aggregate(self, function: str, expression: Any) -> Any:
        if not hasattr(expression, '__sql__'):
            raise ActiveRecordError(f'{function}() takes a column expression (Model.c.field), '
                                    f'got {type(expression).__name__} {expression!r}')
        backend = self._backend()
        value = self._scalar(lambda ctx: self._render_aggregate(ctx, function, expression))
        return aggregate_value(function, expression, value, backend.dialect)

    def sum(self, expression: Any) -> Any:
        """SUM(expression) over the query's rows (None when there are none)."""
        return self._aggregate('sum', expression)

    def avg(self, expression: Any) -> Any:
        """AVG(expression) over the query's rows."""
        return self._aggregate('avg', expression)

    def min(self, expression: Any) -> Any:
        """MIN(expression) over the query's rows."""
        return self._aggregate('min', expression)

    def max(self, expression: Any) -> Any:
        """MAX(expression) over the query's rows."""
        return self._aggregate('max', expression)

    def explain(self) -> str:
        """The database's plan for this query, one line per plan row."""
        backend = self._backend()
        backend.features.require('explain', backend.name)
        sql, params = render_statement(backend.dialect, self._render, self._as_dicts)
        labels, rows = backend.query_rows(backend.dialect.explain_sql(sql), params)
        return '\n'.join(str(row[0]) if len(row) == 1 else
                         ', '.join(f'{label}: {value}' for label, value in zip(labels, row) if value is not None)
                         for row in rows)
