"""The custom-backend guide's worked example (docs/examples) is a working backend: models run on it."""
from __future__ import annotations

import datetime
import decimal
import logging
import sys
import uuid
from pathlib import Path
from typing import Annotated, Optional

import pytest
from pydantic import Field

from activerecord import ActiveRecord
from activerecord.backend.base import StorageBackend
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import IntegrityError, MissingDriverError, OperationalError

from conftest import require_server

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'docs' / 'examples'))
from mysql_connector_backend import ConnectorDialect, MySQLConnectorBackend  # noqa: E402


class Gadget(ActiveRecord):
    __table_name__ = 'ar_custom_gadgets'
    id: int
    name: Annotated[str, Field(max_length=40)]
    price: decimal.Decimal = Field(max_digits=10, decimal_places=2)
    firmware: bytes = b''
    shipped_at: datetime.datetime
    active: bool = True
    specs: dict = {}
    serial: uuid.UUID
    note: Optional[str] = None


@pytest.fixture
def backend():
    config = ConnectionConfig.from_url(require_server('mysql'), pool_size=2)
    Gadget.configure(config, backend_class=MySQLConnectorBackend)
    Gadget.drop_table(if_exists=True)
    Gadget.create_table()
    live = Gadget.backend()
    yield live
    Gadget.drop_table(if_exists=True)
    live.close()


def test_it_supplies_every_piece_of_a_backend():
    assert issubclass(MySQLConnectorBackend, StorageBackend)
    assert MySQLConnectorBackend.driver_module == 'mysql.connector'
    assert MySQLConnectorBackend.paramstyle == 'pyformat'
    assert MySQLConnectorBackend.dialect_class is ConnectorDialect
    assert ConnectorDialect.type_map_class.__name__ == 'ConnectorTypeMap'


def gadget(**values) -> Gadget:
    defaults = dict(name='widget', price=decimal.Decimal('9.99'), firmware=b'\x00\xff\x80 %s ?',
                    shipped_at=datetime.datetime(2024, 5, 1, 12, 30, 15, 250000, tzinfo=datetime.timezone.utc),
                    specs={'ports': [1, 2], 'label': "it's 100%"}, serial=uuid.uuid4())
    return Gadget(**{**defaults, **values})


def test_crud_through_models(backend):
    first = gadget(name='50% off?')
    first.save()
    assert first.id is not None and not first.is_new_record
    loaded = Gadget.find_one(first.id)
    assert loaded.model_dump() == first.model_dump()
    assert type(loaded.firmware) is bytes and type(loaded.active) is bool
    loaded.price = decimal.Decimal('12.50')
    loaded.save()
    assert Gadget.find_one_or_fail(first.id).price == decimal.Decimal('12.50')
    assert Gadget.insert_many([gadget(name=f'bulk {n}').model_dump(exclude={'id'}) for n in range(3)]) == 3
    assert Gadget.query().where(Gadget.c.name.like('bulk%')).count() == 3
    assert [g.name for g in Gadget.query().order_by(Gadget.c.id.desc()).limit(2).all()] == ['bulk 2', 'bulk 1']
    loaded.delete()
    assert Gadget.find_one(first.id) is None
    assert backend.pool.status()['checked_out'] == 0


def test_statements_use_the_drivers_paramstyle(backend, caplog):
    with caplog.at_level(logging.DEBUG, logger='activerecord.sql'):
        Gadget.find_one({'name': 'nobody'})
    assert '%(p1)s' in caplog.records[-1].getMessage()


def test_transactions_and_savepoints(backend):
    with pytest.raises(RuntimeError):
        with Gadget.transaction():
            gadget(name='kept by nobody').save()
            raise RuntimeError('roll back')
    with Gadget.transaction():
        gadget(name='outer').save()
        with pytest.raises(RuntimeError):
            with Gadget.transaction():
                gadget(name='inner').save()
                raise RuntimeError('only the inner block')
    assert [g.name for g in Gadget.find_all()] == ['outer']


def test_server_errors_are_translated_with_their_codes(backend):
    first = gadget()
    first.save()
    with pytest.raises(IntegrityError) as caught:
        backend.execute('INSERT INTO ar_custom_gadgets (id, name, price, firmware, shipped_at, active, specs, serial) '
                        'VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
                        (first.id, 'duplicate', 1, b'', datetime.datetime(2024, 1, 1), True, '{}', str(uuid.uuid4())))
    assert caught.value.code == 1062 and caught.value.sqlstate == '23000'
    assert type(caught.value.__cause__).__module__.startswith('mysql.connector')


def test_a_killed_connection_is_invalidated_and_not_reused(backend):
    with backend.connection() as pooled:
        victim = pooled.raw.connection_id
        backend.execute('KILL CONNECTION ?', (victim,))  # sent on the pool's other connection
    # The victim went back to the pool last, so it is handed out first: the statement fails
    # once, the connection is thrown away, and the statement is not re-run behind our back.
    with pytest.raises(OperationalError, match='killed|gone away|Lost connection|not available'):
        backend.fetch_one('SELECT CONNECTION_ID() AS id')
    assert backend.pool.status()['open'] == 1
    ids = {backend.fetch_one('SELECT CONNECTION_ID() AS id')['id'] for _ in range(3)}
    assert victim not in ids
    assert backend.pool.status()['checked_out'] == 0


def test_a_missing_driver_names_the_package_to_install(monkeypatch):
    monkeypatch.setattr(MySQLConnectorBackend, 'driver_module', 'mysql_connector_not_installed')
    with pytest.raises(MissingDriverError, match='pip install mysql-connector-python'):
        MySQLConnectorBackend(ConnectionConfig(database='test'))
