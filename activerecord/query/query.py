"""The chainable query: every builder method returns a new Query and leaves its receiver alone."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal, Mapping, Sequence

from ..backend.dialect import SQLContext
from ..errors import ActiveRecordError, DataError
from . import compiler
from .tree import Alias, Raw, as_condition, clause, raw
from .async_api import AsyncWriting
from .builder import Builder
from .fetching import T
from .compiler import parse_name, render_aggregate, render_delete, render_select, render_update
from .cte import CTE, render_statement, subquery_sql
from .data_errors import naming_field, refuse_too_long
from .expressions import ColumnRef
from .model_types import ModelClass
from .set_ops import SetOperations
from .sources import Join, SubqueryAlias, TableRef, check_source

_COLLECTIONS = (list, tuple, set, frozenset)

#: with_() support of the relation layer (a floor above this one), once it registers
_eager_loading: dict[str, Callable[..., Any]] = {}


def register_eager_loading(compile_paths: Callable[[type, tuple[Any, ...]], Any],
                           load_records: Callable[[type, list[Any], tuple[Any, ...]], None]) -> None:
    """Install with_(): `compile_paths(model, paths)` checks paths, `load_records(model, records, paths)` loads."""
    _eager_loading['compile_paths'] = compile_paths
    _eager_loading['load_records'] = load_records


def _eager_step(step: str) -> Callable[..., Any]:
    function = _eager_loading.get(step)
    if function is None:
        raise ActiveRecordError('with_() needs the relation layer (activerecord.relation), which is not loaded')
    return function


class Query(SetOperations, AsyncWriting[T], Builder[T]):
    """A SELECT over one model's table, built step by step: `User.query().where(...).all()`."""

    # No __slots__: a builder step copies the instance dict in one call (see _clone).

    def __init__(self, model: type[T]) -> None:
        if not (isinstance(model, type) and hasattr(model, '__meta__')):  # pyright: ignore[reportUnnecessaryIsInstance]  # user input
            raise ActiveRecordError(f'Query() takes a model class, got {model!r}')
        # checked above; the metaclass properties of a model class are invisible to a Protocol
        model_class: Any = model
        self.model = model_class
        self._select: tuple[Any, ...] | None = None
        self._distinct = False
        self._source: Any = None
        self._joins: tuple[Join, ...] = ()
        self._where: tuple[Any, ...] = ()
        self._group_by: tuple[Any, ...] = ()
        self._having: tuple[Any, ...] = ()
        self._order_by: tuple[Any, ...] = ()
        self._limit: int | None = None
        self._offset: int | None = None
        self._ctes: tuple[CTE, ...] = ()
        self._lock: tuple[bool, bool] | None = None
        self._as_dicts = False
        self._unscoped: frozenset[str] | Literal[True] = frozenset()
        self._scopes_applied = False
        self._eager: tuple[str, ...] = ()

    def _clone(self, **changes: Any) -> 'Query[T]':
        new = object.__new__(self.__class__)
        state = self.__dict__.copy()
        state.update(changes)
        new.__dict__ = state
        return new

    def __repr__(self) -> str:
        return f'<Query of {self.model.__name__}>'

    if TYPE_CHECKING:  # dict rows are typed as such (the runtime method is Builder.as_dicts)
        def as_dicts(self, enabled: bool = True) -> Query[dict[str, Any]]: ...  # type: ignore[override]

    # -- conditions ---------------------------------------------------------------------

    def where(self, *conditions: Any, **equals: Any) -> 'Query[T]':
        """Add conditions (ANDed): expressions, a raw fragment with `?` and its values, field=value."""
        return self._clone(_where=(*self._where, *self._conditions(conditions, 'where'),
                                   *self._equalities(equals)))

    def having(self, *conditions: Any) -> 'Query[T]':
        """Add HAVING conditions (ANDed), like where()."""
        return self._clone(_having=self._having + tuple(self._conditions(conditions, 'having')))

    def _conditions(self, conditions: Sequence[Any], method: str) -> Iterable[Any]:
        if conditions and isinstance(conditions[0], str):
            # where('a = ? AND b > ?', (1, 2)) or where('a = ?', 1): the values as raw() takes them
            return (raw(conditions[0], *conditions[1:]),)
        for item in conditions:
            if isinstance(item, str):
                raise ActiveRecordError(f'{method}(): a raw SQL string must be the first argument, followed '
                                        f'by its parameters; got {item!r} after an expression')
            as_condition(item)
        return conditions

    def _equalities(self, equals: dict[str, Any]) -> Iterable[Any]:
        fields = self.model.__meta__.fields
        for name, expected in equals.items():
            if name not in fields:
                raise ActiveRecordError(f'where({name}=...): {self.model.__name__} has no field {name!r}; '
                                        f'its fields are: {", ".join(fields)}')
            column: ColumnRef = getattr(self.model.c, name)
            if isinstance(expected, _COLLECTIONS) and not _is_collection_field(column):
                yield column.in_(expected)
            else:
                yield column == expected

    # -- select list --------------------------------------------------------------------

    def select(self, *items: Any) -> 'Query[T]':
        """Replace the select list: expressions (alias them with .as_), field names, raw()."""
        if not items:
            raise ActiveRecordError('select() needs at least one column')
        return self._clone(_select=self._select_items(items))

    def add_select(self, *items: Any) -> 'Query[T]':
        """Add columns to the select list (the model's columns when none was chosen)."""
        base = self._select if self._select is not None else tuple(self.model.c)
        return self._clone(_select=base + self._select_items(items))

    def _select_items(self, items: Sequence[Any]) -> tuple[Any, ...]:
        result: list[Any] = []
        for item in items:
            if isinstance(item, str):
                item = compiler.resolve_field(self, parse_name(item, 'select', allow_direction=False))
            elif isinstance(item, Query):
                raise ActiveRecordError('a subquery in a select list needs a name: use query.as_("name")')
            elif not hasattr(item, '__sql__'):
                raise ActiveRecordError(f'select() takes column expressions, field names or raw(), '
                                        f'got {type(item).__name__} {item!r}')
            result.append(item)
        return tuple(result)

    def distinct(self, enabled: bool = True) -> 'Query[T]':
        """SELECT DISTINCT."""
        return self._clone(_distinct=bool(enabled))

    # -- ordering, grouping, paging -------------------------------------------------------

    def order_by(self, *items: Any) -> 'Query[T]':
        """Add ORDER BY items: expressions, .desc()/.asc(), 'field [DESC]' or 'alias'; None clears."""
        if len(items) == 1 and items[0] is None:
            return self._clone(_order_by=())
        return self._clone(_order_by=self._order_by + tuple(_name_or_expression(item, 'order_by', True)
                                                            for item in items))

    def group_by(self, *items: Any) -> 'Query[T]':
        """Add GROUP BY items: expressions, field names or select aliases."""
        return self._clone(_group_by=self._group_by + tuple(_name_or_expression(item, 'group_by')
                                                            for item in items))

    # -- sources --------------------------------------------------------------------------

    def join(self, target: Any, on: Any) -> 'Query[T]':
        """INNER JOIN target ON condition (a model, aliased(Model, n), table(n), query.as_(n))."""
        return self._clone(_joins=self._joins + (Join('inner', target, on),))

    def left_join(self, target: Any, on: Any) -> 'Query[T]':
        """LEFT JOIN target ON condition."""
        return self._clone(_joins=self._joins + (Join('left', target, on),))

    def right_join(self, target: Any, on: Any) -> 'Query[T]':
        """RIGHT JOIN (NotSupportedError on a database without it)."""
        return self._clone(_joins=self._joins + (Join('right', target, on),))

    def full_join(self, target: Any, on: Any) -> 'Query[T]':
        """FULL JOIN (NotSupportedError on a database without it)."""
        return self._clone(_joins=self._joins + (Join('full', target, on),))

    def cross_join(self, target: Any) -> 'Query[T]':
        """CROSS JOIN target."""
        return self._clone(_joins=self._joins + (Join('cross', target, None),))

    def from_(self, source: Any) -> 'Query[T]':
        """Read rows from a subquery or a CTE (table(name)) named as the model's table."""
        if isinstance(source, str):
            source = TableRef(source)
        elif isinstance(source, SubqueryAlias):
            raise ActiveRecordError('from_() names the source after the model\'s table: pass the query '
                                    'itself, not query.as_(...)')
        elif not (isinstance(source, TableRef) or hasattr(source, '__subquery_sql__')):
            check_source(source)
            raise ActiveRecordError(f'from_() takes a query or table(name), got {source!r}')
        return self._clone(_source=source)

    # -- locking, scopes, relations ---------------------------------------------------------

    def for_update(self, nowait: bool = False, skip_locked: bool = False) -> 'Query[T]':
        """Lock the selected rows until the transaction ends (ignored where the database has no row locks)."""
        if nowait and skip_locked:
            raise ActiveRecordError('for_update(): nowait and skip_locked exclude each other')
        return self._clone(_lock=(bool(nowait), bool(skip_locked)))

    def unscoped(self, *names: str) -> 'Query[T]':
        """Drop the model's default scopes: all of them, or the named ones."""
        if not names:
            return self._clone(_unscoped=True)
        if self._unscoped is True:
            return self
        return self._clone(_unscoped=self._unscoped | frozenset(names))

    def with_deleted(self) -> 'Query[T]':
        """Include soft-deleted rows (drops the 'soft_delete' scope)."""
        return self.unscoped('soft_delete')

    def with_(self, *paths: Any) -> 'Query[T]':
        """Load these relations ('posts', 'posts.comments', ('posts', modifier)) for the records, one query per level."""
        _eager_step('compile_paths')(self.model, paths)   # unknown names and bad declarations fail here, before any SQL
        return self._clone(_eager=self._eager + tuple(paths))

    def scoped(self) -> 'Query[T]':
        """This query with the model's default scopes applied (once)."""
        scopes: Mapping[str, Callable[[Query[T]], Query[T]]] | None = getattr(self.model, '__default_scopes__', None)
        if self._scopes_applied or not scopes:
            return self
        query = self._clone(_scopes_applied=True)
        for name, scope in scopes.items():
            if self._unscoped is True or name in self._unscoped:
                continue
            query = scope(query)
            if not isinstance(query, Query):  # pyright: ignore[reportUnnecessaryIsInstance]  # a user's scope, checked at run time
                raise ActiveRecordError(f'default scope {name!r} of {self.model.__name__} must return a '
                                        f'Query, got {type(query).__name__}')
        return query

    def _after_load(self, records: list[Any]) -> None:
        if self._eager and records:
            _eager_step('load_records')(self.model, records, self._eager)

    # -- rendering ------------------------------------------------------------------------

    def __subquery_sql__(self, ctx: SQLContext) -> None:
        """The SELECT without parentheses (IN, EXISTS, CTE bodies, set operations)."""
        query = self
        if query._select is None and ctx.state.get('clause') in ('where', 'having', 'on'):
            # IN (subquery) / = (subquery) with no select list: compare with the primary key.
            primary_key = query.model.__meta__.primary_key
            if len(primary_key) == 1:
                query = query._clone(_select=(getattr(query.model.c, primary_key[0]),))
        subquery_sql(ctx, query._render)

    def _render(self, ctx: SQLContext) -> None:
        with clause(ctx, 'statement'):
            render_select(ctx, self)

    def _render_aggregate(self, ctx: SQLContext, function: str, expression: Any) -> None:
        render_aggregate(ctx, self, function, expression)

    def _render_exists(self, ctx: SQLContext) -> None:
        probe = self._clone(_order_by=(), _limit=1, _offset=self._offset, _lock=None)
        render_select(ctx, probe, columns=(Alias(Raw('1'), 'one'),))

    def result_items(self) -> tuple[Any, ...]:
        """The select list's items."""
        return compiler.select_items(self)

    def _ordered_for_first(self) -> 'Query[T]':
        if self._order_by:
            return self
        return self._clone(_order_by=tuple(getattr(self.model.c, name)
                                           for name in self.model.__meta__.primary_key))

    # -- writing ----------------------------------------------------------------------------

    def update_all(self, values: dict[str, Any] | None = None, **more: Any) -> int:
        """UPDATE every row the query selects; values are field=value or field=expression."""
        given = {**(values or {}), **more}
        refuse_too_long(self.model, given)
        assignments = _assignments(self.model, given)
        backend = self._backend()
        try:
            # rendering converts the values for the column (MySQL refuses a NaN there): named too
            sql, params = render_statement(backend.dialect, lambda ctx: render_update(ctx, self, assignments))
            return backend.execute(sql, params)
        except DataError as error:
            raise naming_field(self.model, (given,), given, error)

    def delete_all(self) -> int:
        """DELETE every row the query selects; returns the number of rows deleted."""
        backend = self._backend()
        sql, params = render_statement(backend.dialect, lambda ctx: render_delete(ctx, self))
        return backend.execute(sql, params)

    def update_sql(self, values: dict[str, Any] | None = None, dialect: Any = None, **more: Any) -> tuple[str, tuple[Any, ...]]:
        """(sql, params) that update_all() would send."""
        assignments = _assignments(self.model, {**(values or {}), **more})
        dialect = dialect or self.model.backend().dialect
        return render_statement(dialect, lambda ctx: render_update(ctx, self, assignments))

    def delete_sql(self, dialect: Any = None) -> tuple[str, tuple[Any, ...]]:
        """(sql, params) that delete_all() would send."""
        dialect = dialect or self.model.backend().dialect
        return render_statement(dialect, lambda ctx: render_delete(ctx, self))

    def pluck(self, *items: Any) -> list[Any]:
        """Values of one column (a list), or tuples of several, for every row."""
        if not items:
            raise ActiveRecordError('pluck() needs at least one column')
        rows = self.select(*items).as_dicts().all()
        if len(items) == 1:
            return [next(iter(row.values())) for row in rows]
        return [tuple(row.values()) for row in rows]


def _assignments(model: ModelClass, values: dict[str, Any]) -> list[tuple[str, Any]]:
    if not values:
        raise ActiveRecordError('update_all() needs at least one field=value')
    fields = model.__meta__.fields
    result: list[tuple[str, Any]] = []
    for name, new_value in values.items():
        if name not in fields:
            raise ActiveRecordError(f'update_all({name}=...): {model.__name__} has no field {name!r}; '
                                    f'its fields are: {", ".join(fields)}')
        column: ColumnRef = getattr(model.c, name)
        node = new_value if hasattr(new_value, '__sql__') else column._bind(new_value)  # pyright: ignore[reportPrivateUsage]  # the column's own binding
        result.append((column.column, node))
    return result


def _is_collection_field(column: ColumnRef) -> bool:
    python_type = column.field.python_type
    origin = getattr(python_type, '__origin__', python_type)
    return origin in (list, dict, tuple, set, frozenset)


def _name_or_expression(item: Any, method: str, allow_direction: bool = False) -> Any:
    if isinstance(item, str):
        return parse_name(item, method, allow_direction=allow_direction)
    if not hasattr(item, '__sql__'):
        names = '"field [ASC|DESC]"' if allow_direction else 'field names'
        raise ActiveRecordError(f'{method}() takes column expressions, {names} or raw(), '
                                f'got {type(item).__name__} {item!r}')
    return item
