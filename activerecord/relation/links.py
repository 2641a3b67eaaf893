"""Many-to-many writes: add / remove / set the join records of a `through` HasMany.

`user.groups.add(group, role='admin')` saves one join record (a Membership whose user_id and
group_id point at the two), `remove(group)` deletes the join records linking the two and
`set([g1, g2])` makes the links exactly the given targets. Each runs in one transaction of the
join model and then refreshes the owner's cached relation (read again if it was loaded).
Targets must be saved records of the relation's target model: an unsaved one is an error that
names it (nothing is saved behind the caller's back).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from ..errors import ActiveRecordError
from ..model.base import ActiveRecord
from . import cache
from .errors import RelationError


class Links:
    """The join model and key fields one through relation writes: join.<owner_fk> = owner key,
    join.<target_fk> = target key."""

    __slots__ = ('relation', 'join_model', 'owner_fk', 'target_fk', 'target', 'target_key', 'relations_of')

    def __init__(self, relation: Any, operation: str, relations_of: Callable[[type], dict[str, Any]]) -> None:
        resolved = relation.resolve()
        through, source = resolved.through, resolved.source
        if through is None:
            raise RelationError(f'{relation.label}.{operation}(): {relation.label} is not a many-to-many relation; '
                                f'add/remove/set write the join records of a HasMany(through=...) (a direct '
                                f'relation is written by setting the foreign key, or with .create(...))')
        via = through.resolve_join()
        if via.through is not None or via.target_field is None or not hasattr(through, 'dependent'):
            raise RelationError(f'{relation.label}.{operation}(): it goes through {through.label}, which is not a '
                                f'direct HasMany/HasOne to the join model; only that shape can be written')
        if source.many or hasattr(source, 'dependent'):
            raise RelationError(f'{relation.label}.{operation}(): its source {source.label} is not a BelongsTo; '
                                f'only a join model holding both foreign keys can be written')
        leads = source.resolve_join()
        self.relation = relation
        self.relations_of = relations_of
        self.join_model: type[ActiveRecord] = via.target
        self.owner_fk: str = via.target_field
        self.target_fk: str = leads.owner_field
        self.target: type[ActiveRecord] = resolved.target
        self.target_key: str = leads.target_field

    def owner_key(self, instance: Any, operation: str) -> Any:
        key = self.relation.key_of(instance)
        if key is None:
            raise ActiveRecordError(f'{self.relation.label}.{operation}(): the {type(instance).__name__} has no '
                                    f'{self.relation.resolve().owner_field} yet; save it first')
        return key

    def key_of(self, target: Any, operation: str) -> Any:
        """The key of one target, or an error naming what is wrong with it."""
        # several targets per call: the messages show which one (repr)
        return saved_key(self.relation.label, operation, self.target, self.target_key, target, show=True)

    def check_join_fields(self, values: dict[str, Any], operation: str) -> None:
        fields = self.join_model.__meta__.fields
        for name in values:
            if name in (self.owner_fk, self.target_fk):
                raise RelationError(f'{self.relation.label}.{operation}(): {name}= is set from the records '
                                    f'being linked; it cannot be given')
            if name not in fields:
                raise RelationError(f'{self.relation.label}.{operation}(): {name!r} is not a field of '
                                    f'{self.join_model.__name__} (its fields: {", ".join(fields)})')

    def link(self, owner_key: Any, target_key: Any, values: dict[str, Any]) -> ActiveRecord:
        record = self.join_model(**{**values, self.owner_fk: owner_key, self.target_fk: target_key})
        record.save()
        return record

    def linked_query(self, owner_key: Any) -> Any:
        return self.join_model.query().where(getattr(self.join_model.c, self.owner_fk) == owner_key)

    def refresh(self, instance: Any, targets: Iterable[ActiveRecord]) -> None:
        """Forget the stale caches (the owner's join records, the targets' side); read the relation
        again if it was loaded."""
        relation = self.relation
        resolved = relation.resolve()
        was_loaded = cache.get(instance, relation.name, relation.key_of(instance)) is not cache.MISSING
        cache.clear(instance, resolved.through.name)
        cache.clear(instance, relation.name)
        for target in targets:
            for name in _relations_over(self.relations_of(type(target)), self.join_model):
                cache.clear(target, name)
        if was_loaded:
            relation.load([instance], None)   # an explicit refresh, not a lazy read


def saved_key(label: str, operation: str, model: type[ActiveRecord], field: str, target: object,
              show: bool = False) -> Any:
    """`target.<field>`, checking that `target` is a saved `model` record (for `<label>.<operation>()`:
    BelongsTo set() and the many-to-many writes); `show` puts the target's repr in the messages."""
    if not isinstance(target, model):
        shown = f' {target!r}' if show else ''
        raise RelationError(f'{label}.{operation}(): expected a {model.__name__}, got {type(target).__name__}{shown}')
    key = getattr(target, field)
    if key is None:
        shown = f' {target!r}' if show else ''
        raise ActiveRecordError(f'{label}.{operation}(): the {model.__name__}{shown} has no {field} yet; '
                                'save it first')
    return key


def _relations_over(relations: dict[str, Any], join_model: type) -> list[str]:
    """Names of the relations (of a target model) that read the join model, directly or through it."""
    found: list[str] = []
    for name, relation in relations.items():
        try:
            resolved = relation.resolve_join()
        except RelationError:
            continue
        if resolved.target is join_model or (resolved.through is not None
                                             and resolved.through.target is join_model):
            found.append(name)
    return found


def add(relation: Any, instance: Any, target: Any, values: dict[str, Any], relations_of: Any) -> ActiveRecord:
    """Save one join record linking `instance` and `target` (with `values` on it); returns it."""
    links = Links(relation, 'add', relations_of)
    owner_key, target_key = links.owner_key(instance, 'add'), links.key_of(target, 'add')
    links.check_join_fields(values, 'add')
    with links.join_model.transaction():
        record = links.link(owner_key, target_key, values)
    links.refresh(instance, [target])
    return record


def remove(relation: Any, instance: Any, targets: tuple[Any, ...], relations_of: Any) -> int:
    """Delete the join records linking `instance` and each target; returns how many were deleted."""
    links = Links(relation, 'remove', relations_of)
    owner_key = links.owner_key(instance, 'remove')
    keys = [links.key_of(target, 'remove') for target in targets]
    if not keys:
        return 0
    column = getattr(links.join_model.c, links.target_fk)
    with links.join_model.transaction():
        deleted: int = links.linked_query(owner_key).where(column.in_(keys)).delete_all()
    links.refresh(instance, targets)
    return deleted


def set_links(relation: Any, instance: Any, targets: Iterable[Any], values: dict[str, Any],
              relations_of: Any) -> None:
    """Make the links exactly `targets`: delete the others, add the missing ones (with `values`)."""
    links = Links(relation, 'set', relations_of)
    if isinstance(targets, (str, bytes, ActiveRecord)) or not isinstance(targets, Iterable):  # pyright: ignore[reportUnnecessaryIsInstance] - callers may pass anything
        raise RelationError(f'{relation.label}.set(): expected a list of {links.target.__name__}, '
                            f'got {type(targets).__name__}')
    targets = list(targets)
    owner_key = links.owner_key(instance, 'set')
    wanted: dict[Any, Any] = {}
    for target in targets:
        wanted.setdefault(links.key_of(target, 'set'), target)
    links.check_join_fields(values, 'set')
    column = getattr(links.join_model.c, links.target_fk)
    with links.join_model.transaction():
        current = set(links.linked_query(owner_key).pluck(column))
        stale = [key for key in current if key not in wanted]
        if stale:
            links.linked_query(owner_key).where(column.in_(stale)).delete_all()
        for key, target in wanted.items():
            if key not in current:
                links.link(owner_key, key, values)
    links.refresh(instance, targets)
