"""Schema drift: a model whose table lacks a field's column fails on first use; check_schema() lists it."""
from __future__ import annotations

import datetime
import enum
import uuid
from decimal import Decimal
from typing import Annotated, Optional

import pytest
from pydantic import Field

from activerecord import ActiveRecord
from activerecord.backend.schema import ColumnInfo
from activerecord.errors import ProgrammingError, SchemaMismatchError


class Widget(ActiveRecord):
    __table_name__ = 'sd_widgets'
    id: int
    name: Annotated[str, Field(max_length=40)]
    price: Optional[float] = None


class SizedWidget(ActiveRecord):            # the same table, a field added since it was created
    __table_name__ = 'sd_widgets'
    id: int
    name: Annotated[str, Field(max_length=40)]
    price: Optional[float] = None
    size: int


class ColouredWidget(ActiveRecord):
    __table_name__ = 'sd_widgets'
    id: int
    name: Annotated[str, Field(max_length=40)]
    price: Optional[float] = None
    colour: str = 'red'


class SlimWidget(ActiveRecord):              # a field dropped, and one of another type kind
    __table_name__ = 'sd_widgets'
    id: int
    name: Annotated[str, Field(max_length=40)]
    price: Optional[bytes] = None


class Gadget(ActiveRecord):
    __table_name__ = 'sd_gadgets'
    id: int
    label: Annotated[str, Field(max_length=40)]


def _with_widgets(db, *models: type) -> None:
    db.use(Widget)
    Widget.create(name='w', price=1.5)
    for model in models:
        model.configure(db.url)


@pytest.mark.parametrize('model', [SizedWidget, ColouredWidget], ids=['size_int', 'colour_default'])
def test_a_field_without_a_column_raises_before_any_record_is_built(db, model):
    _with_widgets(db, model)
    missing = 'size' if model is SizedWidget else 'colour'
    with pytest.raises(SchemaMismatchError) as caught:
        model.find_all()
    message = str(caught.value)
    assert model.__name__ in message and 'sd_widgets' in message and repr(missing) in message
    for read in (lambda: model.query().all(), lambda: model.find_one(1), lambda: model.query().first()):
        with pytest.raises(SchemaMismatchError):
            read()
    assert Widget.find_all()[0].name == 'w'          # the model that agrees with the table still works


def test_a_write_from_a_drifted_model_raises_the_same_error(db):
    _with_widgets(db, ColouredWidget)
    with pytest.raises(SchemaMismatchError):
        ColouredWidget(name='x').save()
    with pytest.raises(SchemaMismatchError):
        ColouredWidget.insert_many([{'name': 'y'}])
    assert len(Widget.find_all()) == 1


def test_the_check_runs_once_per_model_and_backend(db, sent_sql):
    db.use(Gadget)
    Gadget.drop_table()
    Gadget.backend().execute('CREATE TABLE sd_gadgets (id INTEGER PRIMARY KEY, label VARCHAR(40))')
    sent_sql.clear()
    Gadget.find_all()
    Gadget.find_all()
    Gadget.find_one(1)
    statements = sent_sql.statements
    introspections = [sql for sql in statements if 'sd_gadgets' not in sql]
    assert len(statements) == 4 and len(introspections) == 1


def test_a_missing_table_is_not_marked_checked(db):
    db.use(Gadget)
    Gadget.drop_table()
    with pytest.raises(ProgrammingError):           # as before: the statement itself fails
        Gadget.find_all()
    Gadget.create_table()
    Gadget.create(label='g')
    assert [gadget.label for gadget in Gadget.find_all()] == ['g']


def test_check_schema_lists_the_differences_without_raising(db):
    _with_widgets(db, SizedWidget, SlimWidget)
    assert Widget.check_schema() == []
    (missing,) = SizedWidget.check_schema()
    assert (missing.problem, missing.column) == ('missing_column', 'size')
    assert str(missing) == "SizedWidget (sd_widgets.size): no column for field 'size'"
    problems = {(item.problem, item.column) for item in SlimWidget.check_schema()}
    assert problems == {('type', 'price')}
    quote = db.backend.dialect.quote
    db.backend.execute(f'ALTER TABLE {quote("sd_widgets")} ADD {quote("weight")} INTEGER NOT NULL DEFAULT 0')
    db.backend.execute(f'ALTER TABLE {quote("sd_widgets")} ADD {quote("owner")} INTEGER')
    assert Widget.check_schema() == []              # extra columns with a default or NULL are fine
    if db.name != 'sqlite':                          # SQLite cannot add NOT NULL without a default
        db.backend.execute(f'DELETE FROM {quote("sd_widgets")}')
        db.backend.execute(f'ALTER TABLE {quote("sd_widgets")} ADD {quote("code")} INTEGER NOT NULL')
        assert [(item.problem, item.column) for item in Widget.check_schema()] == [('extra_not_null', 'code')]


def test_schema_columns_describe_the_table(db):
    db.use(Widget)
    columns = {column.name: column for column in db.backend.schema.columns('sd_widgets')}
    assert list(columns) == ['id', 'name', 'price']
    assert all(isinstance(column, ColumnInfo) for column in columns.values())
    assert columns['id'].primary_key and columns['id'].autoincrement and columns['id'].kind == 'int'
    assert columns['name'].kind == 'str' and not columns['name'].nullable
    assert columns['price'].kind == 'float' and columns['price'].nullable and not columns['price'].primary_key
    assert 'sd_widgets' in db.backend.schema.tables()
    assert db.backend.schema.columns('sd_no_such_table') == []


class Colour(enum.Enum):
    RED = 'red'
    BLUE = 'blue'


class Everything(ActiveRecord):
    __table_name__ = 'sd_everything'
    id: int
    whole: int
    text: str
    short: Annotated[str, Field(max_length=20)]
    flag: bool
    real: float
    money: Annotated[Decimal, Field(max_digits=12, decimal_places=2)]
    instant: datetime.datetime
    day: datetime.date
    clock: datetime.time
    span: datetime.timedelta
    blob: bytes
    key: uuid.UUID
    colour: Colour
    doc: dict
    numbers: list[int]
    maybe: Optional[int] = None


def test_a_table_made_from_the_model_has_no_differences(db):
    db.use(Everything)
    assert Everything.check_schema() == []
    kinds = {column.name: column.kind for column in db.backend.schema.columns('sd_everything')}
    assert kinds['whole'] == 'int' and kinds['money'] == 'decimal' and kinds['instant'] == 'datetime'
    assert kinds['day'] == 'date' and kinds['blob'] == 'bytes'
