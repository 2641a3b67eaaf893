"""Eager loading: `query.with_('posts.comments', ('profile', modifier))`.

Paths are compiled into a tree of relations (unknown names fail here, before any SQL), and each
level is then read for all the records of the level above at once: one statement per relation
level (per chunk of keys where the database limits an IN list), never one per record.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Sequence, Tuple, Union


from .descriptors import Relation, relations_of
from .errors import RelationError

Modifier = Callable[[Any], Any]
Path = Union[str, Tuple[str, Modifier]]


class Node:
    """One relation to load for every record of the level above, and what to load below it."""

    __slots__ = ('relation', 'modifier', 'children')

    def __init__(self, relation: Relation[Any]) -> None:
        self.relation = relation
        self.modifier: Modifier | None = None
        self.children: dict[str, Node] = {}

    def __repr__(self) -> str:
        return f'Node({self.relation.label}, children={list(self.children)})'


Plan = Dict[str, Node]  # name -> Node, for one model


def compile_paths(model: type, paths: Iterable[Path]) -> Plan:
    """Check with_() arguments and merge them into a plan: a tree of relations from `model`."""
    plan: Plan = {}
    for path in paths:
        modifier = None
        if isinstance(path, tuple):
            if len(path) != 2 or not isinstance(path[0], str) or not callable(path[1]):  # pyright: ignore[reportUnnecessaryIsInstance] - with_() takes whatever the caller passes
                raise RelationError(f'{model.__name__}.query().with_({path!r}): expected a relation path or a '
                                    "(path, modifier) pair such as ('posts', lambda q: q.where(...))")
            path, modifier = path
        if not isinstance(path, str) or not path:  # pyright: ignore[reportUnnecessaryIsInstance] - as above
            raise RelationError(f'{model.__name__}.query().with_({path!r}): expected a relation path such as '
                                "'posts' or 'posts.comments'")
        _add(model, plan, path, modifier)
    return plan


def _add(model: type, plan: Plan, path: str, modifier: Modifier | None) -> None:
    level: Plan = plan
    owner: type = model
    names = path.split('.')
    for depth, name in enumerate(names):
        relation = relations_of(owner).get(name)
        if relation is None:
            known = ', '.join(relations_of(owner)) or 'none'
            raise RelationError(f"{owner.__name__} has no relation {name!r} (in with_('{path}')); "
                                f'relations of {owner.__name__}: {known}')
        relation.resolve()   # a bad declaration fails now, naming the model and relation
        node = level.get(name)
        if node is None:
            node = level[name] = Node(relation)
        if depth == len(names) - 1 and modifier is not None:
            if node.modifier is not None and node.modifier is not modifier:
                raise RelationError(f"with_(): two different modifiers for '{path}' of {model.__name__}")
            node.modifier = modifier
        level, owner = node.children, relation.target


def load_records(model: type, records: list[Any], paths: tuple[Path, ...]) -> None:
    """Load a query's with_() relations into the records it just built (registered with the query layer)."""
    _load_level(records, compile_paths(model, paths))


def _load_level(owners: Sequence[Any], plan: Plan) -> None:
    for node in plan.values():
        node.relation.check_selected(owners[0])   # a query may not have selected the key column
        targets = node.relation.load(owners, node.modifier)
        if node.children and targets:
            _load_level(targets, node.children)
