"""The lean paths: rows become records without validation; save() validates only what changed."""
from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import field_validator

from activerecord import ActiveRecord


class Counted(ActiveRecord):
    __table_name__ = 'mdl_counted'
    id: int
    name: str
    validations: ClassVar[int] = 0

    @field_validator('name')
    @classmethod
    def count(cls, value: str) -> str:
        Counted.validations += 1
        return value


@pytest.fixture
def counted(db):
    db.use(Counted)
    Counted.validations = 0
    return db


def test_rows_become_records_without_validation(counted):
    Counted.insert_many([{'name': f'n{i}'} for i in range(50)])
    assert Counted.validations == 50            # insert_many validates each row once
    Counted.validations = 0
    records = Counted.find_all()
    records += Counted.query().all()
    records.append(Counted.find_one(records[0].id))
    assert len(records) == 101 and Counted.validations == 0
    assert all(not record.is_new_record and not record.is_dirty for record in records)


def test_save_neither_dumps_nor_validates_again_what_construction_validated(counted, monkeypatch):
    def no_dump(*args, **kwargs):
        raise AssertionError('save() must not dump the model')

    monkeypatch.setattr(Counted, 'model_dump', no_dump)
    record = Counted(name='a')
    assert Counted.validations == 1
    record.save()
    assert Counted.validations == 1
    record.save()                       # unchanged: no validation, nothing sent
    assert Counted.validations == 1
    record.name = 'b'
    record.save()                       # changed: validated once before the UPDATE
    assert Counted.validations == 2
    loaded = Counted.find_one(record.id)
    loaded.save()
    assert Counted.validations == 2

