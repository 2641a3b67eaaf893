"""BelongsTo, HasOne, HasMany: relation descriptors declared as ClassVar attributes of a model.

`posts: ClassVar[HasMany['Post']] = HasMany(foreign_key='user_id', inverse_of='user')` declares
the relation; `user.posts` is then a bound accessor: `user.posts()` reads (and caches) the
posts, `user.posts.query()` is a query to filter further, `user.posts.build(...)` /
`.create(...)` make a post that belongs to the user. Everything about the target model (its
class, key fields, the inverse relation) is resolved at first use, so models may refer to
classes defined later; a bad declaration raises a RelationError naming model and relation then.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Iterable, Optional, Sequence, TypeVar, cast, overload

from ..errors import ActiveRecordError
from ..model.base import ActiveRecord
from ..model.metadata import snake_case
from ..query import Query
from . import cache, links, loading
from .async_api import AsyncBoundRelation, AsyncHasAccessor
from .dependent import register as register_dependents
from .errors import RelationError
from .resolution import resolve_target, target_name
from .strict import check_lazy_load

T = TypeVar('T', bound=ActiveRecord)  # the target model
R = TypeVar('R')  # what calling a bound accessor returns (annotations only)

DEPENDENT_OPTIONS = ('delete', 'delete_all', 'nullify', 'restrict')


class Resolved(Generic[T]):
    """What a relation knows once its target is found: `target.<target_field> == owner.<owner_field>`.

    target_field is None only for a through relation (its targets are found via `source`)."""

    __slots__ = ('target', 'owner_field', 'target_field', 'inverse', 'order', 'through', 'source')

    def __init__(self, target: type[T], owner_field: str, target_field: str | None) -> None:
        self.target = target
        self.owner_field = owner_field
        self.target_field = target_field
        self.inverse: Relation[Any] | None = None
        self.order: tuple[Any, ...] = ()
        self.through: Relation[Any] | None = None
        self.source: Relation[Any] | None = None

    @property
    def direct_field(self) -> str:
        """target_field of a direct relation (the through branches never ask for it)."""
        field = self.target_field
        assert field is not None, 'a through relation has no target field of its own'
        return field


class Relation(Generic[T]):
    """A relation between the model that declares it (owner) and a target model."""

    many: ClassVar[bool] = False
    accessor: ClassVar[type[BoundRelation[Any, Any]]]  # what `record.<relation>` is, per subclass

    def __init__(self, foreign_key: str | None = None, *, inverse_of: str | None = None,
                 primary_key: str | None = None, target: type[T] | str | None = None) -> None:
        for option, value in (('foreign_key', foreign_key), ('inverse_of', inverse_of),
                              ('primary_key', primary_key)):
            if value is not None and (not isinstance(value, str) or not value):  # pyright: ignore[reportUnnecessaryIsInstance] - callers may pass foreign_key=3
                raise RelationError(f'{type(self).__name__}({option}={value!r}): expected a field name')
        self.foreign_key = foreign_key
        self.inverse_of = inverse_of
        self.primary_key = primary_key
        self.explicit_target = target
        self.owner: type[ActiveRecord] | None = None
        self.name = ''
        self._slot = cache.slot('')   # the name's cache key, made once: every read looks it up
        self._join: Resolved[T] | None = None
        self._resolved: Resolved[T] | None = None
        self._resolving = False
        self._lock = threading.RLock()

    def __set_name__(self, owner: type[ActiveRecord], name: str) -> None:
        if self.owner is not None and self.owner is not owner:
            raise RelationError(f'{owner.__name__}.{name}: this {type(self).__name__} object is already '
                                f'{self.owner.__name__}.{self.name}; declare a new one for each model')
        self.owner, self.name = owner, name
        self._slot = cache.slot(name)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return self.accessor(self, instance)

    def __repr__(self) -> str:
        where = f'{self.owner.__name__}.{self.name}' if self.owner is not None else 'unbound'
        return f'<{type(self).__name__} {where}>'

    @property
    def label(self) -> str:
        """'User.posts', for messages."""
        return f'{self.owner.__name__}.{self.name}' if self.owner is not None else type(self).__name__

    # -- resolution (first use) ----------------------------------------------------------------

    def resolve(self) -> Resolved[T]:
        """Target model, key fields and checked inverse (found once; raises RelationError)."""
        resolved = self._resolved
        if resolved is None:
            resolved = self.resolve_join()
            if self.inverse_of is not None and resolved.inverse is None:
                resolved.inverse = self._check_inverse(resolved)
            self._resolved = resolved
        return resolved

    def resolve_join(self) -> Resolved[T]:
        """Target model and key fields only: what other relations need to resolve themselves."""
        join = self._join
        if join is None:
            with self._lock:
                if self._join is None:
                    if self._resolving:
                        raise RelationError(f'{self.label}: the relation depends on itself (through/inverse_of loop)')
                    self._resolving = True
                    try:
                        self._join = self._find_join()
                    finally:
                        self._resolving = False
                join = self._join
        return join

    @property
    def target(self) -> type[T]:
        """The target model class."""
        return self.resolve_join().target

    @property
    def declaring_model(self) -> type[ActiveRecord]:
        """The owner model (a relation is only resolved once __set_name__ has bound it)."""
        owner = self.owner
        if owner is None:
            raise RelationError(f'{type(self).__name__} is not declared on a model class')
        return owner

    def _find_join(self) -> Resolved[T]:
        owner = self.declaring_model
        named = self.explicit_target if self.explicit_target is not None else target_name(owner, self.name)
        # resolve_target checked it is an ActiveRecord subclass; that it is T is the declaration's word
        target = cast('type[T]', resolve_target(owner, self.name, named, ActiveRecord))
        return self._join_on(target)

    def _join_on(self, target: type[T]) -> Resolved[T]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _field(self, model: type[ActiveRecord], name: str, option: str) -> str:
        """The field `name` (a field or column name) of `model`, or a RelationError naming it."""
        meta = model.__meta__
        if name in meta.fields:
            return name
        by_column = meta.by_column.get(name)
        if by_column is not None:
            return by_column.name
        raise RelationError(f'{self.label}: {option} {name!r} is not a field of {model.__name__} '
                            f'(its fields: {", ".join(meta.fields)})')

    def _key(self, model: type[ActiveRecord]) -> str:
        """The primary_key= option's field of `model`, else its single-field primary key."""
        if self.primary_key:
            return self._field(model, self.primary_key, 'primary_key')
        key = model.__meta__.primary_key
        if len(key) != 1:
            raise RelationError(f'{self.label}: {model.__name__} has the composite primary key {key}; a '
                                f'relation joins on one field: give primary_key=...')
        return key[0]

    def _check_inverse(self, resolved: Resolved[T]) -> Relation[Any]:
        target, owner = resolved.target, self.declaring_model
        if resolved.through is not None:
            raise RelationError(f'{self.label}: a relation with through=... takes no inverse_of')
        inverse = relations_of(target).get(self.inverse_of or '')
        if inverse is None:
            raise RelationError(f'{self.label}: inverse_of={self.inverse_of!r} is not a relation of '
                                f'{target.__name__} (its relations: {", ".join(relations_of(target)) or "none"})')
        other = inverse.resolve_join()
        if not issubclass(owner, other.target) or (other.owner_field, other.target_field) != (
                resolved.target_field, resolved.owner_field):
            raise RelationError(f'{self.label}: inverse_of={self.inverse_of!r} names {inverse.label}, which does '
                                f'not relate {target.__name__}.{resolved.target_field} to '
                                f'{owner.__name__}.{resolved.owner_field}')
        return inverse

    # -- reading ------------------------------------------------------------------------------

    def key_of(self, instance: Any) -> Any:
        """The owner-side key the relation is read for (None: nothing can be related)."""
        return getattr(instance, self.resolve().owner_field)

    def empty(self) -> Any:
        """The value of the relation when nothing is related."""
        return [] if self.many else None

    def collect(self, related: Sequence[Any]) -> Any:
        """The relation's value from the related records (a list, or the first / None)."""
        if self.many:
            return list(related)
        return related[0] if related else None

    def read(self, instance: Any, reload: bool = False) -> Any:
        """The related record(s) of one instance, from its cache or (lazily) from the database."""
        resolved = self._resolved
        if resolved is None:
            resolved = self.resolve()
        key = getattr(instance, resolved.owner_field)   # key_of(), inlined: reads are the hot path
        if not reload:
            value = cache.lookup(instance, self._slot, key)
            if value is not cache.MISSING:
                return value
        if key is None:
            value = self.empty()
            cache.put(instance, self.name, key, value)
            return value
        check_lazy_load(instance, self.name)
        self.load([instance], None, lazy=True)
        return cache.get(instance, self.name, key)

    def load(self, owners: Sequence[Any], modifier: loading.Modifier | None = None,
             lazy: bool = False) -> list[T]:
        """Read the relation of every owner at once, cache it on each; returns the distinct targets."""
        resolved = self.resolve()
        field = resolved.direct_field
        keys = loading.distinct_keys(getattr(owner, resolved.owner_field) for owner in owners)
        query = loading.level_query(resolved.target, modifier, resolved.order, self.label)
        targets = loading.fetch(resolved.target, field, keys, query, modifier is not None)
        self.assign(owners, loading.group(targets, field))
        return targets

    def check_selected(self, owner: Any) -> None:
        """Raise if `owner` (read by a query) lacks the key column: it would look unrelated."""
        field = self.resolve_join().owner_field
        # rows become records whose fields_set is exactly the columns the query selected
        if getattr(owner, field) is None and field not in owner.__pydantic_fields_set__:
            raise RelationError(f'{self.label} needs {type(owner).__name__}.{field}, which the query that read '
                                f'the {type(owner).__name__} did not select')

    def assign(self, owners: Iterable[Any], groups: dict[Any, list[Any]]) -> None:
        """Cache each owner's related records (and the inverse relation on them); the lists of
        `groups` (made by loading.group() for this call) become the owners' values."""
        resolved = self.resolve()
        field, slot, many = resolved.owner_field, self._slot, self.many
        inverse = resolved.inverse if resolved.inverse is not None and not resolved.inverse.many else None
        handed: set[Any] = set()   # keys whose group list an owner already holds as its value
        for owner in owners:
            key = getattr(owner, field)
            related: Sequence[Any] = groups.get(key, ()) if key is not None else ()
            if not many or not related:
                value = self.collect(related)
            elif key in handed:
                value = list(related)   # owners sharing a key each get a list of their own
            else:
                # the group was built for this call alone: the first owner takes it uncopied
                handed.add(key)
                value = related
            cache.store(owner, slot, key, value)
            if inverse is not None:
                for target in related:
                    cache.put(target, inverse.name, key, owner)

    def query_for(self, instance: Any) -> Query[T]:
        """A query of the records related to one instance (to filter and order further)."""
        resolved = self.resolve()
        key = self.key_of(instance)
        column = getattr(resolved.target.c, resolved.direct_field)
        # no key: nothing can be related (and `= NULL` would be wrong), so an empty match
        return resolved.target.query().where(column.in_(()) if key is None else column == key)


class BoundRelation(AsyncBoundRelation[T, R]):
    """`record.<relation>`: call it to read, or query / reset it (T: the target model, R: what a
    call returns: `list[T]` for a HasMany, `T | None` otherwise)."""

    __slots__ = ('relation', 'instance')

    def __init__(self, relation: Relation[T], instance: Any) -> None:
        self.relation = relation
        self.instance = instance

    def __call__(self, reload: bool = False) -> R:
        """The related record(s): cached after the first read; reload=True reads again."""
        value: R = self.relation.read(self.instance, reload)
        return value

    def query(self) -> Query[T]:
        """A query of the related records, to filter, order, count... further (never cached)."""
        return self.relation.query_for(self.instance)

    @property
    def loaded(self) -> bool:
        """Whether a call would answer from the cache (no statement)."""
        relation = self.relation
        return cache.get(self.instance, relation.name, relation.key_of(self.instance)) is not cache.MISSING

    def reset(self) -> None:
        """Forget the cached value: the next call reads again."""
        cache.clear(self.instance, self.relation.name)

    def __repr__(self) -> str:
        return f'<{self.relation.label} of {type(self.instance).__name__}>'


class BelongsToAccessor(BoundRelation[T, Optional[T]]):
    """`post.user`: the owner holds the foreign key."""

    __slots__ = ()

    def set(self, target: T | None) -> None:
        """Point the foreign key at `target` (a saved record, or None) and cache it."""
        relation = self.relation
        resolved = relation.resolve()
        key = None if target is None else links.saved_key(relation.label, 'set', resolved.target,
                                                           resolved.direct_field, target)
        setattr(self.instance, resolved.owner_field, key)
        cache.put(self.instance, relation.name, key, target)


class HasAccessor(AsyncHasAccessor[T, R], BoundRelation[T, R]):
    """`user.posts` / `user.profile`: the target holds the foreign key."""

    __slots__ = ()

    def build(self, **values: Any) -> T:
        """A new (unsaved) target whose foreign key points at this record."""
        relation = self.relation
        resolved = relation.resolve()
        if resolved.through is not None:
            raise RelationError(f'{relation.label} goes through {resolved.through.label}: create the '
                                f'{resolved.through.target.__name__} record that links the two instead')
        field = resolved.direct_field
        key = relation.key_of(self.instance)
        if key is None:
            raise ActiveRecordError(f'{relation.label}.build(): the {type(self.instance).__name__} has no '
                                    f'{resolved.owner_field} yet; save it first')
        if field in values and values[field] != key:
            raise RelationError(f'{relation.label}.build(): {field}={values[field]!r} '
                                f'contradicts the owner\'s {resolved.owner_field}={key!r}')
        child = resolved.target(**{**values, field: key})
        if resolved.inverse is not None and not resolved.inverse.many:
            cache.put(child, resolved.inverse.name, key, self.instance)
        return child

    def create(self, **values: Any) -> T:
        """build(...) then save(); the saved record joins an already loaded relation."""
        child = self.build(**values)
        child.save()
        relation = self.relation
        key = relation.key_of(self.instance)
        current = cache.get(self.instance, relation.name, key)
        if current is not cache.MISSING:
            if relation.many:
                current.append(child)   # the list callers hold is the cached one
            else:
                cache.put(self.instance, relation.name, key, child)
        return child

    # -- many-to-many writes (a HasMany with through=...) -------------------------------------

    def add(self, target: T, **join_fields: Any) -> ActiveRecord:
        """Link `target` (a saved record) to this one: saves one join record with `join_fields` on
        it, in a transaction, then refreshes the cached relation; returns the join record.
        A duplicate link is what the join table allows (IntegrityError under a unique index)."""
        return links.add(self.relation, self.instance, target, join_fields, relations_of)

    def remove(self, *targets: T) -> int:
        """Unlink the targets: deletes every join record linking this record and one of them (in a
        transaction), then refreshes the cached relation; returns how many were deleted."""
        return links.remove(self.relation, self.instance, targets, relations_of)

    def set(self, targets: Iterable[T], **join_fields: Any) -> None:
        """Make the links exactly `targets`, in one transaction: deletes the join records of the
        others, adds the missing ones (with `join_fields`); then refreshes the cached relation."""
        links.set_links(self.relation, self.instance, targets, join_fields, relations_of)


class BelongsTo(Relation[T]):
    """The owner holds the foreign key: `post.user()` is the User whose key is post.user_id."""

    accessor = BelongsToAccessor

    if TYPE_CHECKING:  # typed reads: `post.user()` is `User | None` (no runtime change)
        @overload
        def __get__(self, instance: None, owner: type | None = None) -> BelongsTo[T]: ...
        @overload
        def __get__(self, instance: object, owner: type | None = None) -> BelongsToAccessor[T]: ...
        def __get__(self, instance: Any, owner: type | None = None) -> Any: ...

    def _join_on(self, target: type[T]) -> Resolved[T]:
        foreign_key = self._field(self.declaring_model, self.foreign_key or f'{self.name}_id', 'foreign_key')
        return Resolved(target, foreign_key, self._key(target))


class _HasRelation(Relation[T]):
    """HasOne / HasMany: the target holds the foreign key; `dependent` acts when the owner is deleted."""

    accessor = HasAccessor

    def __init__(self, foreign_key: str | None = None, *, inverse_of: str | None = None,
                 primary_key: str | None = None, target: type[T] | str | None = None,
                 dependent: str | None = None, order_by: Sequence[Any] | Any = ()) -> None:
        super().__init__(foreign_key, inverse_of=inverse_of, primary_key=primary_key, target=target)
        if dependent is not None and dependent not in DEPENDENT_OPTIONS:
            raise RelationError(f'{type(self).__name__}(dependent={dependent!r}): expected one of '
                                f'{", ".join(map(repr, DEPENDENT_OPTIONS))}')
        self.dependent = dependent
        self.order_by: tuple[Any, ...] = (
            tuple(order_by) if isinstance(order_by, (list, tuple)) else (order_by,) if order_by else ())  # pyright: ignore[reportUnknownArgumentType] - order_by is any sequence of column expressions

    def __set_name__(self, owner: type[ActiveRecord], name: str) -> None:
        super().__set_name__(owner, name)
        if self.dependent is not None:
            register_dependents(owner, dependents_of)

    def _join_on(self, target: type[T]) -> Resolved[T]:
        owner = self.declaring_model
        owner_key = self._key(owner)
        foreign_key = self.foreign_key or self._inverse_foreign_key(target) or f'{snake_case(owner.__name__)}_id'
        resolved = Resolved(target, owner_key, self._field(target, foreign_key, 'foreign_key'))
        resolved.order = self._order(target)
        if self.dependent == 'nullify' and not target.__meta__.fields[resolved.direct_field].nullable:
            raise RelationError(f"{self.label}: dependent='nullify' needs a nullable foreign key, but "
                                f'{target.__name__}.{resolved.target_field} is not Optional')
        return resolved

    def _inverse_foreign_key(self, target: type[ActiveRecord]) -> str | None:
        inverse = relations_of(target).get(self.inverse_of) if self.inverse_of else None
        if isinstance(inverse, BelongsTo):
            return inverse.resolve_join().owner_field
        return None

    def _order(self, target: type[ActiveRecord]) -> tuple[Any, ...]:
        # An explicit order first; the primary key last keeps every read in the same order.
        key = target.__meta__.primary_key
        return tuple(self.order_by) + tuple(getattr(target.c, name) for name in key)


class HasOne(_HasRelation[T]):
    """The target holds the foreign key, one target per owner: `user.profile()`."""

    if TYPE_CHECKING:  # typed reads: `user.profile()` is `Profile | None` (no runtime change)
        @overload
        def __get__(self, instance: None, owner: type | None = None) -> HasOne[T]: ...
        @overload
        def __get__(self, instance: object, owner: type | None = None) -> HasAccessor[T, T | None]: ...
        def __get__(self, instance: Any, owner: type | None = None) -> Any: ...


class HasMany(_HasRelation[T]):
    """The target holds the foreign key, many targets per owner: `user.posts()` is a list.

    `through='memberships'` reads the targets across a join model instead: `memberships` is a
    relation of the owner, and `source` (default: the one relation of the join model whose
    target is this relation's target) leads from a join record to the target.
    """

    if TYPE_CHECKING:  # typed reads: `user.posts()` is `list[Post]` (no runtime change)
        @overload
        def __get__(self, instance: None, owner: type | None = None) -> HasMany[T]: ...
        @overload
        def __get__(self, instance: object, owner: type | None = None) -> HasAccessor[T, list[T]]: ...
        def __get__(self, instance: Any, owner: type | None = None) -> Any: ...

    many = True

    def __init__(self, foreign_key: str | None = None, *, inverse_of: str | None = None,
                 primary_key: str | None = None, target: type[T] | str | None = None,
                 dependent: str | None = None, order_by: Sequence[Any] | Any = (),
                 through: str | None = None, source: str | None = None) -> None:
        super().__init__(foreign_key, inverse_of=inverse_of, primary_key=primary_key, target=target,
                         dependent=dependent, order_by=order_by)
        if through is not None:
            if foreign_key is not None or primary_key is not None or dependent is not None:
                raise RelationError(f'HasMany(through={through!r}): foreign_key, primary_key and dependent belong '
                                    f'on the relations it goes through, not on the through relation')
        elif source is not None:
            raise RelationError(f'HasMany(source={source!r}) needs through=...')
        self.through = through
        self.source = source

    def _join_on(self, target: type[T]) -> Resolved[T]:
        if self.through is None:
            return super()._join_on(target)
        owner = self.declaring_model
        through = relations_of(owner).get(self.through)
        if through is None or through is self:
            others = ', '.join(name for name in relations_of(owner) if name != self.name)
            raise RelationError(f'{self.label}: through={self.through!r} is not a relation of {owner.__name__} '
                                f'(its relations: {others})')
        joined = through.resolve_join()
        source = self._source_relation(joined.target, target)
        if source.resolve_join().through is not None:
            raise RelationError(f'{self.label}: the source {source.label} goes through another relation; '
                                'the source of a through relation must be direct')
        resolved = Resolved(target, joined.owner_field, None)
        resolved.through, resolved.source = through, source
        resolved.order = self._order(target)
        return resolved

    def _source_relation(self, join_model: type[ActiveRecord], target: type[ActiveRecord]) -> Relation[Any]:
        candidates = relations_of(join_model)
        if self.source is not None:
            source = candidates.get(self.source)
            if source is None:
                raise RelationError(f'{self.label}: source={self.source!r} is not a relation of {join_model.__name__} '
                                    f'(its relations: {", ".join(candidates) or "none"})')
        else:
            matching = [relation for relation in candidates.values() if relation.target is target]
            if len(matching) != 1:
                found = ', '.join(relation.label for relation in matching) or 'none'
                raise RelationError(f'{self.label}: cannot tell which relation of {join_model.__name__} leads to '
                                    f'{target.__name__} (found: {found}); give source=...')
            source = matching[0]
        if source.target is not target:
            raise RelationError(f'{self.label}: the source {source.label} leads to {source.target.__name__}, '
                                f'not to {target.__name__}')
        return source

    # -- through reads ------------------------------------------------------------------------

    def load(self, owners: Sequence[Any], modifier: loading.Modifier | None = None,
             lazy: bool = False) -> list[T]:
        """Direct: see Relation.load. Through: the join records first, then the targets."""
        resolved = self.resolve()
        through, source = resolved.through, resolved.source
        if through is None or source is None:  # both or neither: _join_on sets them together
            return super().load(owners, modifier, lazy)
        # a lazy read reuses join records that are already loaded
        missing = [owner for owner in owners if not lazy
                   or cache.get(owner, through.name, through.key_of(owner)) is cache.MISSING]
        if missing:
            through.load(missing, None)
        links = {id(owner): _as_list(cache.peek(owner, through.name)) for owner in owners}
        joins = [join for linked in links.values() for join in linked]
        keys = loading.distinct_keys(source.key_of(join) for join in joins)
        source_resolved = source.resolve()
        query = loading.level_query(resolved.target, modifier, resolved.order, self.label)
        source_field = source_resolved.direct_field
        targets = loading.fetch(resolved.target, source_field, keys, query, modifier is not None)
        groups = loading.group(targets, source_field)
        if modifier is None:  # filtered targets must not pose as the join records' whole relation
            source.assign(joins, groups)
        position = {id(target): index for index, target in enumerate(targets)}
        for owner in owners:
            related = {id(target): target for join in links[id(owner)]
                       for target in groups.get(source.key_of(join), ())}
            ordered = sorted(related.values(), key=lambda target: position[id(target)])
            cache.put(owner, self.name, self.key_of(owner), ordered)
        return targets

    def query_for(self, instance: Any) -> Query[T]:
        """Direct: see Relation.query_for. Through: targets whose key is among the join records'."""
        resolved = self.resolve()
        through, source_relation = resolved.through, resolved.source
        if through is None or source_relation is None:
            return super().query_for(instance)
        source = source_relation.resolve()
        join_model = through.target
        linked_keys = through.query_for(instance).select(getattr(join_model.c, source.owner_field))
        return resolved.target.query().where(getattr(resolved.target.c, source.direct_field).in_(linked_keys))


def _as_list(value: Any) -> list[Any]:
    if value is cache.MISSING or value is None:
        return []
    return value if isinstance(value, list) else [value]  # pyright: ignore[reportUnknownVariableType] - a cached relation value: a list of records


_relations: dict[type, dict[str, Relation[Any]]] = {}


def relations_of(model: type) -> dict[str, Relation[Any]]:
    """name -> relation for every relation a model declares or inherits (cached per class)."""
    found = _relations.get(model)
    if found is None:
        found = {}
        for klass in reversed(model.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, Relation):
                    found[name] = value
                elif name in found:  # a subclass replaced the relation with something else
                    del found[name]
        _relations[model] = found
    return found


def dependents_of(model: type) -> list[_HasRelation[Any]]:
    """The model's relations that have a dependent= option, restrict ones first."""
    found = [relation for relation in relations_of(model).values()
             if isinstance(relation, _HasRelation) and relation.dependent]
    return sorted(found, key=lambda relation: relation.dependent != 'restrict')
