"""The pydantic fence: every private name activerecord.model.pydantic_internals relies on.

Each test names the private attribute it checks, so that a pydantic release which moves or
changes one fails here, by name, rather than deep inside a save or a query.
"""
from __future__ import annotations

import pathlib

import pydantic
import pytest
from pydantic import BaseModel, field_validator, model_validator
from pydantic._internal import _model_construction
from pydantic_core import SchemaValidator, core_schema

import activerecord

from activerecord.model import pydantic_internals as fence


def test_pydantic_major_version_is_the_one_the_fence_was_written_for():
    assert pydantic.VERSION.startswith('2.'), f'pydantic {pydantic.VERSION}: the fence was written for 2.x'


def test_model_metaclass_is_basemodels_metaclass():
    assert hasattr(_model_construction, 'ModelMetaclass'), \
        'pydantic._internal._model_construction.ModelMetaclass is gone'
    assert type(BaseModel) is fence.ModelMetaclass, 'BaseModel is no longer built by ModelMetaclass'


@pytest.mark.parametrize('slot', ['__pydantic_fields_set__', '__pydantic_extra__', '__pydantic_private__'])
def test_basemodel_keeps_per_instance_state_in_slot_descriptors(slot):
    descriptor = BaseModel.__dict__.get(slot)
    assert descriptor is not None and hasattr(descriptor, '__set__'), \
        f'BaseModel.__dict__[{slot!r}] is no longer a slot descriptor with __set__'


def test_slot_setters_write_what_pydantic_reads():
    class Item(BaseModel):
        name: str = ''

    item = object.__new__(Item)
    object.__setattr__(item, '__dict__', {'name': 'x'})
    fence.set_fields_set(item, {'name'})
    fence.set_extra(item, None)
    fence.set_private(item, {'_state': 1})
    assert item.model_fields_set == {'name'}, '__pydantic_fields_set__ set through its slot is not read back'
    assert item.__pydantic_extra__ is None
    assert item.__pydantic_private__ == {'_state': 1}, '__pydantic_private__ set through its slot is not read back'
    assert item.model_dump() == {'name': 'x'}


def test_base_init_flag_lets_validation_bypass_a_custom_init():
    calls = []

    class Item(BaseModel):
        name: str

        @fence.mark_base_init
        def __init__(self, /, **data):
            calls.append(data)
            super().__init__(**data)

    assert Item.__init__.__pydantic_base_init__ is True
    assert Item.__pydantic_custom_init__ is False, \
        '__pydantic_base_init__ no longer tells pydantic that __init__ is the base one (__pydantic_custom_init__)'
    Item.model_validate({'name': 'x'})
    assert calls == [], 'model_validate called an __init__ marked __pydantic_base_init__'


def test_unpack_lenient_weakvaluedict_reads_the_parent_namespace():
    assert hasattr(_model_construction, 'unpack_lenient_weakvaluedict'), \
        'pydantic._internal._model_construction.unpack_lenient_weakvaluedict is gone'

    class Local:
        pass

    def define():
        local = Local  # noqa: F841 - must be a local of the defining function

        class Item(BaseModel):
            name: str = ''
        return Item

    item_model = define()
    assert hasattr(item_model, '__pydantic_parent_namespace__'), \
        'models no longer keep __pydantic_parent_namespace__'
    assert fence.definition_namespace(item_model).get('local') is Local, \
        '__pydantic_parent_namespace__ through unpack_lenient_weakvaluedict no longer gives the defining locals'
    assert fence.definition_namespace(BaseModel) == {}


def test_plain_fields_schema_reads_the_core_schema_and_decorators():
    class Plain(BaseModel):
        name: str
        count: int = 0

    fields = fence.plain_fields_schema(Plain)
    assert fields is not None and fields['type'] == 'model-fields', \
        "__pydantic_core_schema__['schema'] is no longer the 'model-fields' schema"
    triples = SchemaValidator(core_schema.list_schema(fields)).validate_python([{'name': 'a'}])
    values, _extra, fields_set = triples[0]
    assert values == {'name': 'a', 'count': 0} and fields_set == {'name'}, \
        'a model-fields schema no longer validates into (values, extra, fields set)'

    class WithModelValidator(BaseModel):
        name: str

        @model_validator(mode='after')
        def check(self):
            return self

    class WithFieldValidator(BaseModel):
        name: str

        @field_validator('name')
        @classmethod
        def strip(cls, value):
            return value.strip()

    assert hasattr(WithModelValidator.__pydantic_decorators__, 'model_validators'), \
        '__pydantic_decorators__.model_validators is gone'
    assert hasattr(WithModelValidator.__pydantic_decorators__, 'root_validators'), \
        '__pydantic_decorators__.root_validators is gone'
    assert fence.plain_fields_schema(WithModelValidator) is None, 'a model validator was not seen'
    assert fence.plain_fields_schema(WithFieldValidator) is not None   # field validators live in the schema


def test_only_the_fence_imports_pydantic_private_modules():
    root = pathlib.Path(activerecord.__file__).parent
    offenders = [str(path.relative_to(root)) for path in root.rglob('*.py')
                 if 'pydantic._internal' in path.read_text() and path.name != 'pydantic_internals.py']
    assert offenders == []
