"""What a query reads from: a model's table, an aliased model, a CTE by name, a subquery alias."""
from __future__ import annotations

from typing import Any

from ..errors import ActiveRecordError, NotSupportedError
from ..backend.types import ColumnSpec
from .tree import as_condition, clause
from .expressions import ColumnNamespace, NamedColumns
from .model_types import ModelClass
from .result_types import Scope, result_type, rule, scope_of
from ..backend.dialect import SQLContext



def is_model(candidate: Any) -> bool:
    """Whether `candidate` is a model class (it has `__meta__`)."""
    return isinstance(candidate, type) and hasattr(candidate, '__meta__')


class AliasedModel:
    """A model under another name, for self-joins: `parent = aliased(Category, 'parent')`."""

    __slots__ = ('model', 'alias', 'c')

    def __init__(self, model: type, alias: str) -> None:
        if not is_model(model):
            raise ActiveRecordError(f'aliased() takes a model class, got {model!r}')
        if not isinstance(alias, str) or not alias:  # pyright: ignore[reportUnnecessaryIsInstance]  # user input, checked at run time
            raise ActiveRecordError(f'aliased(): the alias must be a non-empty str, got {alias!r}')
        model_class: Any = model   # checked above; its metaclass properties escape a Protocol
        self.model: ModelClass = model_class
        self.alias = alias
        self.c = ColumnNamespace(model, alias)

    def __from_sql__(self, ctx: 'SQLContext') -> None:
        dialect = ctx.dialect
        ctx.literal(dialect.quote_table(self.model.__meta__.table_name) + dialect.table_alias_keyword
                    + dialect.quote(self.alias))

    def __repr__(self) -> str:
        return f'aliased({self.model.__name__}, {self.alias!r})'


def aliased(model: type, alias: str) -> AliasedModel:
    """The model under an alias; its `.c` columns are qualified by the alias."""
    return AliasedModel(model, alias)


class TableRef:
    """A table or CTE by name (`table('tree')`); `.c.<name>` is any of its columns."""

    __slots__ = ('name', 'c')

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:  # pyright: ignore[reportUnnecessaryIsInstance]  # user input, checked at run time
            raise ActiveRecordError(f'table(): the name must be a non-empty str, got {name!r}')
        self.name = name
        self.c = NamedColumns(name)

    def __from_sql__(self, ctx: 'SQLContext') -> None:
        ctx.literal(ctx.dialect.quote_table(self.name))

    def __repr__(self) -> str:
        return f'table({self.name!r})'


def table(name: str) -> TableRef:
    """A named table or CTE to join or read from (its columns: `table('t').c.col`)."""
    return TableRef(name)


class SubqueryAlias:
    """`query.as_('name')`: a subquery in FROM/JOIN, or a scalar subquery in a select list."""

    __slots__ = ('query', 'name', 'c')

    def __init__(self, query: Any, name: str) -> None:
        if not isinstance(name, str) or not name:  # pyright: ignore[reportUnnecessaryIsInstance]  # user input, checked at run time
            raise ActiveRecordError(f'as_(): the alias must be a non-empty str, got {name!r}')
        self.query = query
        self.name = name
        self.c = NamedColumns(name)

    @property
    def label(self) -> str:
        return self.name

    def __sql__(self, ctx: 'SQLContext') -> None:
        # In a select list: (SELECT ...) AS name; as an operand elsewhere: (SELECT ...).
        where = ctx.state.get('clause')
        with clause(ctx, 'subquery'):
            ctx.sql(self.query)
        if where == 'select':
            ctx.literal(' AS ').identifier(self.name)

    def __from_sql__(self, ctx: 'SQLContext') -> None:
        with clause(ctx, 'subquery'):
            ctx.sql(self.query)
        ctx.literal(ctx.dialect.table_alias_keyword + ctx.dialect.quote(self.name))

    def __repr__(self) -> str:
        return f'{self.query!r}.as_({self.name!r})'


@rule(SubqueryAlias)
def _scalar_subquery_type(node: SubqueryAlias, scope: Scope) -> ColumnSpec | None:
    """A scalar subquery has the type of what it selects."""
    items = node.query.result_items()
    if not items:
        return None
    inner = scope_of(node.query)
    inner.sources = {**scope.sources, **inner.sources}
    return result_type(items[0], inner)


def render_source(ctx: 'SQLContext', source: Any) -> None:
    """Render a FROM/JOIN item: a model's table or any source with `__from_sql__`."""
    if is_model(source):
        ctx.literal(ctx.dialect.quote_table(source.__meta__.table_name))
    else:
        source.__from_sql__(ctx)


def check_source(source: Any) -> Any:
    """Reject what cannot be joined or read from, naming what can."""
    if is_model(source) or hasattr(source, '__from_sql__'):
        return source
    if hasattr(source, '__sql__'):
        raise ActiveRecordError('a subquery in FROM or JOIN needs a name: use query.as_("name")')
    raise ActiveRecordError(f'cannot read from {type(source).__name__} {source!r}; expected a model, '
                            'aliased(Model, name), table(name) or query.as_(name)')


JOIN_KEYWORDS = {'inner': ' JOIN ', 'left': ' LEFT JOIN ', 'right': ' RIGHT JOIN ',
                 'full': ' FULL JOIN ', 'cross': ' CROSS JOIN '}
_JOIN_FEATURES = {'right': 'right_join', 'full': 'full_join'}


class Join:
    """One JOIN of a query: kind, target and ON condition."""

    __slots__ = ('kind', 'target', 'on')

    def __init__(self, kind: str, target: Any, on: Any) -> None:
        self.kind = kind
        self.target = check_source(target)
        if kind == 'cross':
            if on is not None:
                raise ActiveRecordError('cross_join() takes no ON condition')
        elif on is None:
            raise ActiveRecordError(f'{kind} join of {target!r} needs an ON condition, '
                                    'e.g. join(User, Post.c.user_id == User.c.id)')
        else:
            on = as_condition(on)
        self.on = on

    def __sql__(self, ctx: 'SQLContext') -> None:
        feature = _JOIN_FEATURES.get(self.kind)
        if feature is not None and not getattr(ctx.dialect.features, feature):
            raise NotSupportedError(f'{ctx.dialect.name} does not support {self.kind.upper()} JOIN')
        ctx.literal(JOIN_KEYWORDS[self.kind])
        render_source(ctx, self.target)
        if self.on is not None:
            with clause(ctx, 'on'):
                ctx.literal(' ON ').sql(self.on)
