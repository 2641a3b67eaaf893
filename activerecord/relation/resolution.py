"""Finding a relation's target model from its ClassVar[...] annotation, like pydantic forward refs.

`posts: ClassVar[HasMany['Post']]` names the target 'Post'. A name is looked up in the scope the
owner class was defined in (pydantic keeps it for classes defined inside functions), then in the
owner's module, then among every model class by class name; several models with that name and
no way to tell them apart is an error. A dotted name ('app.models.Post') is imported.
"""
from __future__ import annotations

import ast
import difflib
import importlib
import sys
import typing
from typing import Any, ForwardRef

from ..model.pydantic_internals import definition_namespace
from .errors import RelationError


def target_name(owner: type, attribute: str) -> Any:
    """The type argument of the owner's `attribute: ClassVar[Relation[X]]`: a class or a name."""
    annotation = _annotation(owner, attribute)
    if annotation is None:
        raise RelationError(f'{owner.__name__}.{attribute}: the relation has no annotation; declare it as '
                            f"`{attribute}: ClassVar[HasMany['Target']] = HasMany(...)`")
    if isinstance(annotation, str):
        return _name_from_source(owner, attribute, annotation)
    if typing.get_origin(annotation) is typing.ClassVar:
        args = typing.get_args(annotation)
        annotation = args[0] if args else None
    args = typing.get_args(annotation)
    if len(args) != 1:
        raise RelationError(f'{owner.__name__}.{attribute}: {annotation!r} does not name the target model; '
                            f"write ClassVar[{type(owner.__dict__.get(attribute)).__name__}['Target']]")
    target = args[0]
    if isinstance(target, ForwardRef):
        return target.__forward_arg__
    if isinstance(target, (str, type)):
        return target
    raise RelationError(f'{owner.__name__}.{attribute}: the target {target!r} is neither a model class nor '
                        'a class name')


def _annotation(owner: type, attribute: str) -> Any:
    for klass in owner.__mro__:
        annotations = klass.__dict__.get('__annotations__', {})
        if attribute in annotations:
            return annotations[attribute]
    return None


def _name_from_source(owner: type, attribute: str, source: str) -> str:
    """'ClassVar[HasMany["Post"]]' (a postponed annotation) -> 'Post'."""
    try:
        node = ast.parse(source, mode='eval').body
    except SyntaxError:
        node = None
    for _ in range(2):  # ClassVar[...] then Relation[...]
        if not isinstance(node, ast.Subscript):
            node = None
            break
        node = node.slice
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, (ast.Name, ast.Attribute)):
        return ast.unparse(node)
    raise RelationError(f'{owner.__name__}.{attribute}: cannot read the target model from the annotation '
                        f"{source!r}; write ClassVar[HasMany['Target']]")


def resolve_target(owner: type, attribute: str, target: Any, base: type) -> type:
    """The model class a relation's target names (`base` is the root model class)."""
    found: Any
    if isinstance(target, type):
        found = target
    elif '.' in target:
        found = _import_dotted(owner, attribute, target)
    else:
        found = _lookup(owner, target, base)
        if found is None:
            found = _by_class_name(owner, attribute, target, base)
    if not (isinstance(found, type) and issubclass(found, base)):
        raise RelationError(f'{owner.__name__}.{attribute}: the target {target!r} is {found!r}, not a model class')
    return found


def _lookup(owner: type, name: str, base: type) -> type | None:
    scope = definition_namespace(owner)
    module = sys.modules.get(owner.__module__)
    for namespace in (scope, vars(module) if module is not None else {}):
        try:
            value = namespace[name]
        except KeyError:
            continue
        if isinstance(value, type) and issubclass(value, base):
            return value
    return None


def _by_class_name(owner: type, attribute: str, name: str, base: type) -> type:
    candidates = [model for model in all_models(base) if model.__name__ == name]
    if len(candidates) > 1:
        # models defined side by side (in one function, one class body) belong together
        scope = owner.__qualname__.rpartition('.')[0]
        siblings = [model for model in candidates if model.__module__ == owner.__module__
                    and model.__qualname__.rpartition('.')[0] == scope]
        candidates = siblings if len(siblings) == 1 else candidates
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        similar = difflib.get_close_matches(name, sorted({model.__name__ for model in all_models(base)}), n=3)
        hint = f' (did you mean {" or ".join(similar)}?)' if similar else ''
        raise RelationError(f'{owner.__name__}.{attribute}: no model class named {name!r} was found in '
                            f'{owner.__module__} or among the defined models{hint}')
    where = ', '.join(sorted(f'{model.__module__}.{model.__qualname__}' for model in candidates))
    raise RelationError(f'{owner.__name__}.{attribute}: the target name {name!r} is ambiguous ({where}); '
                        'give it as a dotted name or pass the class: ClassVar[HasMany[Target]]')


def _import_dotted(owner: type, attribute: str, dotted: str) -> Any:
    module_name, _, class_name = dotted.rpartition('.')
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise RelationError(f'{owner.__name__}.{attribute}: cannot import the target {dotted!r}: {error}') from None


def all_models(base: type) -> list[type]:
    """Every subclass of `base` that is alive, depth first."""
    found: list[type] = []
    stack: list[type] = list(base.__subclasses__())
    seen: set[type] = set()
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        found.append(model)
        stack.extend(model.__subclasses__())
    return found
