"""The per-model statement cache: one Statements per Dialect.cache_key, bounded however many dialects."""
from __future__ import annotations

from activerecord import ActiveRecord
from activerecord.backend.impl.mysql.dialect import MySQLDialect
from activerecord.backend.impl.sqlite.backend import SQLiteBackend
from activerecord.backend.typing import ConnectionConfig
from activerecord.mixins import OptimisticLockMixin, SoftDeleteMixin
from activerecord.model.statements import statements_for


class Gadget(ActiveRecord):
    id: int
    name: str


def test_equal_dialects_share_one_statements():
    first = SQLiteBackend(ConnectionConfig(database=':memory:'))
    second = SQLiteBackend(ConnectionConfig(database=':memory:'))
    try:
        meta = Gadget.__meta__
        mine = statements_for(meta, first.dialect)
        assert statements_for(meta, first.dialect) is mine           # cached
        assert statements_for(meta, second.dialect) is mine          # an equal dialect: no new entry
    finally:
        first.close()
        second.close()


def test_a_thousand_fresh_dialects_leave_one_cache_entry():
    class Widget(ActiveRecord):
        id: int
        name: str

    for _ in range(1000):
        Widget.query().where(Widget.c.name == 'x').to_sql(dialect=MySQLDialect())
        statements_for(Widget.__meta__, MySQLDialect())
    assert len(Widget.__meta__.statements) == 1
    assert len(Widget.__meta__.fields['name']._to_db_safe) == 1


def test_mysql_dialects_differing_in_a_rendering_setting_do_not_share():
    class Part(ActiveRecord):
        id: int
        name: str

    plain, latin = MySQLDialect(), MySQLDialect(charset='latin1')
    mariadb = MySQLDialect()
    mariadb.adopt_server('10.11.6-MariaDB')   # the server version changes what renders
    assert len({plain.cache_key, latin.cache_key, mariadb.cache_key}) == 3
    found = {id(statements_for(Part.__meta__, dialect)) for dialect in (plain, latin, mariadb)}
    assert len(found) == 3
    assert statements_for(Part.__meta__, MySQLDialect(charset='latin1')) is statements_for(Part.__meta__, latin)


def test_by_key_forms_of_soft_delete_and_locked_models_are_built_once():
    class Note(SoftDeleteMixin, OptimisticLockMixin, ActiveRecord):
        id: int
        body: str

    backend = SQLiteBackend(ConnectionConfig(database=':memory:'))
    try:
        statements = statements_for(Note.__meta__, backend.dialect)
        assert statements.select_live_by_pk_sql == statements.select_by_pk_sql + ' AND "deleted_at" IS NULL'
        assert statements.delete_locked_sql == statements.delete_sql + ' AND "version" = ?'
        plain = statements_for(Gadget.__meta__, backend.dialect)
        assert plain.select_live_by_pk_sql is None and plain.delete_locked_sql is None
    finally:
        backend.close()
