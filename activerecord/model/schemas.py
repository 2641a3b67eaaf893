"""Request schemas: `Model.create_schema()` and `Model.update_schema()`.

Both are plain pydantic models holding the fields a client may send: the fields the database or
the ORM fills in are left out (a generated primary key, a database-computed default, the
timestamp, soft-delete and lock fields of the mixins, and `Column(read_only=True)` fields). A
body naming a left-out field is refused (`extra='forbid'`), so a client cannot set `id` or
`created_at`. Every field of the update schema may be left out; read the values the client sent
with `body.model_dump(exclude_unset=True)`.
"""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

from .column import Column
from .metadata import ModelAttributes, _column_of  # pyright: ignore[reportPrivateUsage] - the package's helper

#: (model, 'create' | 'update') -> the schema class, built once
_schemas: dict[tuple[type, str], type[BaseModel]] = {}


def managed_fields(model: type[ModelAttributes]) -> tuple[str, ...]:
    """The fields of `model` that the database or the ORM fills in, in field order."""
    meta = model.__meta__
    managed: set[str] = set(model.__db_filled__) | set(meta.db_generated)
    for field in meta.pk_fields:
        info = model.model_fields[field.name]
        if field.autoincrement or info.default_factory is not None:
            managed.add(field.name)
    managed.update(model.__timestamps__ or ())
    for name in (model.__soft_delete_field__, model.__lock_field__):
        if name:
            managed.add(name)
    for name, info in model.model_fields.items():
        column = _column_of(info)
        if column is not None and column.read_only:
            managed.add(name)
    return tuple(name for name in model.model_fields if name in managed)


def _field(info: FieldInfo, *, optional: bool) -> tuple[Any, Any]:
    """(annotation, Field) for one schema field: the model's type and constraints, without Column."""
    metadata = [item for item in info.metadata if not isinstance(item, Column)]
    annotation: Any = Annotated[(info.annotation, *metadata)] if metadata else info.annotation
    extra: dict[str, Any] = {key: value for key, value in (
        ('title', info.title), ('description', info.description), ('examples', info.examples))
        if value is not None}
    if optional:
        # may be left out; an explicit null is still checked against the field's type
        return annotation, Field(default=None, **extra)
    if info.default_factory is not None:
        return annotation, Field(default_factory=info.default_factory, **extra)
    return annotation, Field(default=info.default, **extra)


def build_schema(model: type[ModelAttributes], kind: str) -> type[BaseModel]:
    """The create ('create') or update ('update') request schema of `model`, built once."""
    if kind not in ('create', 'update'):
        raise ValueError(f'request schema kind {kind!r}: expected "create" or "update"')
    cached = _schemas.get((model, kind))
    if cached is not None:
        return cached
    if model.__dict__.get('__abstract__', False):
        raise TypeError(f'{model.__name__} is abstract: only a model with a table has request schemas')
    managed = set(managed_fields(model))
    fields: dict[str, Any] = {name: _field(info, optional=kind == 'update')
              for name, info in model.model_fields.items() if name not in managed}
    schema: type[BaseModel] = create_model(
        f'{model.__name__}{kind.capitalize()}',
        __config__=ConfigDict(extra='forbid', arbitrary_types_allowed=True),
        __doc__=f'The fields a client may send to {kind} a {model.__name__}.',
        __module__=model.__module__,
        **fields)
    _schemas[(model, kind)] = schema
    return schema


__all__ = ['build_schema', 'managed_fields']
