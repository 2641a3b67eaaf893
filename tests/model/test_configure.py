"""Configuring models: table names, keys, configure() forms, inheritance, shared backends."""
from __future__ import annotations

from typing import Annotated, Optional

import pytest

from activerecord import ActiveRecord, Column
from activerecord.backend.impl.sqlite.backend import SQLiteBackend
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import ActiveRecordError, ConfigurationError
from activerecord.model import config as model_config
from activerecord.model.metadata import default_table_name


@pytest.fixture(autouse=True)
def _forget_own_configurations():
    """Models configured here are unbound afterwards (ActiveRecord itself included)."""
    yield
    for model in list(model_config._bound):
        if model.__module__ == __name__ or model is ActiveRecord:
            backend = model_config._bound[model]
            model_config.unbind(model)
            backend.close()


def test_table_name_defaults_to_snake_case_plural_of_the_class_name():
    assert default_table_name('User') == 'users'
    assert default_table_name('BlogPost') == 'blog_posts'
    assert default_table_name('Category') == 'categories'
    assert default_table_name('Address') == 'addresses'
    assert default_table_name('Day') == 'days'
    assert default_table_name('HTTPLog') == 'http_logs'

    class OrderLine(ActiveRecord):
        id: int
        qty: int

    assert OrderLine.__meta__.table_name == 'order_lines'


def test_explicit_table_name_and_primary_key_metadata():
    class Country(ActiveRecord):
        __table_name__ = 'mdl_countries'
        __primary_key__ = 'code'
        code: Annotated[str, Column(name='iso_code')]
        name: str
        population: Optional[int] = None

    meta = Country.__meta__
    assert meta.table_name == 'mdl_countries'
    assert meta.primary_key == ('code',)
    assert meta.autoincrement is False
    assert list(meta.fields) == ['code', 'name', 'population']
    assert meta.fields['code'].column == 'iso_code'
    assert meta.by_column['iso_code'] is meta.fields['code']
    assert meta.fields['population'].nullable and not meta.fields['name'].nullable
    with pytest.raises(Exception):
        Country(name='Netherlands')   # a str key is required: only int keys are generated


def test_int_key_without_default_is_none_until_saved_and_required_elsewhere():
    class Gadget(ActiveRecord):
        id: int
        name: str

    gadget = Gadget(name='x')
    assert gadget.id is None and gadget.is_new_record
    assert Gadget.__meta__.autoincrement and Gadget.__meta__.fields['id'].autoincrement
    assert not Gadget.__meta__.fields['id'].nullable   # the column is NOT NULL all the same
    assert Gadget(id=7, name='y').id == 7


def test_composite_primary_key():
    class Membership(ActiveRecord):
        __primary_key__ = ('group_id', 'user_id')
        group_id: int
        user_id: int
        role: str = 'member'

    meta = Membership.__meta__
    assert meta.primary_key == ('group_id', 'user_id')
    assert not meta.autoincrement
    with pytest.raises(Exception):
        Membership(group_id=1)   # composite key fields stay required


def test_column_primary_key_marks_the_key():
    class Sku(ActiveRecord):
        code: Annotated[str, Column(primary_key=True)]
        label: str

    assert Sku.__meta__.primary_key == ('code',)


def test_missing_key_field_is_a_clear_error():
    class Orphan(ActiveRecord):
        name: str

    with pytest.raises(ConfigurationError, match="primary key field 'id'"):
        Orphan.__meta__


def test_c_is_reserved_and_so_are_method_names():
    with pytest.raises(ConfigurationError, match="'c' is reserved"):
        class Bad(ActiveRecord):  # noqa: F841
            id: int
            c: int
    with pytest.raises(ConfigurationError, match="'save' is reserved"):
        class Worse(ActiveRecord):  # noqa: F841
            id: int
            save: int


def test_unconfigured_model_raises_a_clear_error():
    class Lonely(ActiveRecord):
        id: int

    with pytest.raises(ActiveRecordError, match=r'Lonely is not configured.*configure'):
        Lonely.backend()


def test_configure_with_url_config_and_backend_class():
    class A(ActiveRecord):
        id: int

    class B(ActiveRecord):
        id: int

    class C(ActiveRecord):
        id: int

    A.configure('sqlite://')
    assert isinstance(A.backend(), SQLiteBackend)
    B.configure(ConnectionConfig(database=':memory:', scheme='sqlite'))
    assert isinstance(B.backend(), SQLiteBackend)
    C.configure(ConnectionConfig(database=':memory:'), backend_class=SQLiteBackend)
    assert C.backend() is B.backend()   # equal configs + class: one shared backend


def test_configure_without_scheme_or_class_is_refused():
    class D(ActiveRecord):
        id: int

    with pytest.raises(ConfigurationError, match='backend_class'):
        D.configure(ConnectionConfig(database=':memory:'))
    with pytest.raises(ConfigurationError, match='ConnectionConfig or a URL'):
        D.configure(42)   # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match='StorageBackend subclass'):
        D.configure(ConnectionConfig(database=':memory:'), backend_class=dict)


def test_models_on_memory_share_one_database(tmp_path):
    class Left(ActiveRecord):
        __table_name__ = 'mdl_shared'
        id: int
        name: str

    class Right(ActiveRecord):
        __table_name__ = 'mdl_shared'
        id: int
        name: str

    Left.configure('sqlite://')
    Right.configure('sqlite:///:memory:')
    assert Left.backend() is Right.backend()
    Left.create_table()
    Left.create(name='seen by both')
    assert [row.name for row in Right.find_all()] == ['seen by both']


def test_configuring_a_base_configures_subclasses_without_their_own(tmp_path):
    class Base(ActiveRecord):
        __abstract__ = True

    class Child(Base):
        id: int

    class Grandchild(Child):
        id: int

    class Separate(Base):
        id: int

    Base.configure(f'sqlite:///{tmp_path}/base.db')
    Separate.configure(f'sqlite:///{tmp_path}/other.db')
    assert Child.backend() is Base.backend() is Grandchild.backend()
    assert Separate.backend() is not Base.backend()
    first = Base.backend()
    Base.configure(f'sqlite:///{tmp_path}/moved.db')   # rebinding moves the followers too
    assert Child.backend() is Base.backend() is not first
    assert Separate.backend().config.database.endswith('other.db')
    Child.configure(f'sqlite:///{tmp_path}/child.db')
    assert Grandchild.backend() is Child.backend() is not Base.backend()
    first.close()


def test_configuring_activerecord_itself_reaches_every_model():
    class Anywhere(ActiveRecord):
        id: int

    ActiveRecord.configure('sqlite://')
    assert Anywhere.backend() is ActiveRecord.backend()


def test_abstract_models_have_no_table():
    class Shared(ActiveRecord):
        __abstract__ = True
        tenant: str = 't'

    with pytest.raises(ConfigurationError, match='abstract'):
        Shared.__meta__

    class Concrete(Shared):
        id: int

    assert 'tenant' in Concrete.__meta__.fields
    assert Concrete.__meta__.table_name == 'concretes'


def test_column_namespace_is_the_query_layers_and_cached():
    class Widget(ActiveRecord):
        id: int
        name: str

    assert Widget.c is Widget.c
    assert Widget.c.name is not None
    with pytest.raises(AttributeError, match='name'):
        Widget.c.nope


def test_configure_does_not_connect():
    class Remote(ActiveRecord):
        id: int

    # nothing listens there: configure() only checks the config
    backend = Remote.configure('sqlite:////nonexistent-dir/for/sure/x.db')
    assert backend.pool.status()['open'] == 0
