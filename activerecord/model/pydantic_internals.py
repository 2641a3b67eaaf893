"""The one place that touches pydantic's private API (written for pydantic 2.x, checked on 2.13.4).

Everything else in activerecord uses pydantic's public API. What is private is named here once,
and tests/model/test_pydantic_fence.py checks that each name still exists and behaves as the
code below assumes, so a pydantic release that changes one fails that test by name instead of
failing somewhere deep in a save. pyproject pins `pydantic>=2,<3`.
"""
from __future__ import annotations

from typing import Any, Callable

from pydantic import BaseModel
# ModelMetaclass: BaseModel's metaclass, which ActiveRecordMeta extends to prepare class bodies.
from pydantic._internal._model_construction import ModelMetaclass, unpack_lenient_weakvaluedict

# BaseModel keeps these per instance in __slots__: setting them through the slot descriptors is
# cheaper than object.__setattr__ by name (rows are built on the hot path of every query).
set_fields_set: Callable[[Any, set[str]], None] = BaseModel.__dict__['__pydantic_fields_set__'].__set__
set_extra: Callable[[Any, Any], None] = BaseModel.__dict__['__pydantic_extra__'].__set__
set_private: Callable[[Any, Any], None] = BaseModel.__dict__['__pydantic_private__'].__set__


def mark_base_init(init: Callable[..., None]) -> Callable[..., None]:
    """Tell pydantic that `init` behaves as BaseModel.__init__ (validation may then bypass it)."""
    # pydantic reads this flag to decide whether model_validate must call a custom __init__
    init.__pydantic_base_init__ = True  # type: ignore[attr-defined]
    return init


def definition_namespace(model: type) -> dict[str, Any]:
    """The locals of the function that defined `model` (pydantic keeps them as weak references)."""
    return unpack_lenient_weakvaluedict(getattr(model, '__pydantic_parent_namespace__', None)) or {}


def plain_fields_schema(model: type[BaseModel]) -> dict[str, Any] | None:
    """The model's 'model-fields' core schema when validating the model does nothing more; else None.

    A list of such a schema validates into (field values, extra values, fields set) triples.
    """
    # read as a plain dict (Any): the keys looked up differ between the kinds of core schema
    schema: Any = model.__pydantic_core_schema__
    fields: dict[str, Any] = schema.get('schema') or {}
    decorators = model.__pydantic_decorators__
    if (schema.get('type') != 'model' or fields.get('type') != 'model-fields'
            or schema.get('custom_init') or schema.get('root_model') or schema.get('post_init')
            or model.__pydantic_post_init__ is not None
            or decorators.model_validators or decorators.root_validators):
        return None
    return fields


__all__ = ['ModelMetaclass', 'definition_namespace', 'mark_base_init', 'plain_fields_schema', 'set_extra',
           'set_fields_set', 'set_private']
