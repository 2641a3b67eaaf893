"""Statement plans (cached SQL per model, dialect and statement shape) never cross to another
backend's dialect, another model's columns or another changed-column set: the SQL sent is
checked after each change, through the `activerecord.sql` log."""
from __future__ import annotations

from activerecord import ActiveRecord
from tests.conftest import require_server

# what each dialect sends for the same four calls (INSERT, two UPDATEs, a lookup by key)
_SENT = {
    'sqlite': ['INSERT INTO "plan_probes" ("name", "qty") VALUES (?, ?)',
               'UPDATE "plan_probes" SET "qty" = ? WHERE "id" = ?',
               'UPDATE "plan_probes" SET "name" = ?, "qty" = ? WHERE "id" = ?',
               'SELECT "id", "name", "qty" FROM "plan_probes" WHERE "id" = ?'],
    'postgresql': ['INSERT INTO "plan_probes" ("name", "qty") VALUES ($1, $2) RETURNING "id"',
                   'UPDATE "plan_probes" SET "qty" = $1 WHERE "id" = $2',
                   'UPDATE "plan_probes" SET "name" = $1, "qty" = $2 WHERE "id" = $3',
                   'SELECT "id", "name", "qty" FROM "plan_probes" WHERE "id" = $1'],
    'mysql': ['INSERT INTO `plan_probes` (`name`, `qty`) VALUES (%s, %s)',
              'UPDATE `plan_probes` SET `qty` = %s WHERE `id` = %s',
              'UPDATE `plan_probes` SET `name` = %s, `qty` = %s WHERE `id` = %s',
              'SELECT `id`, `name`, `qty` FROM `plan_probes` WHERE `id` = %s'],
}


def _on_table(sent_sql, table: str) -> list[str]:
    """The statements sent on `table` (not the introspection, BEGIN or COMMIT around them)."""
    return [sql for sql in sent_sql.statements if table in sql and not sql.startswith(('DROP', 'CREATE'))]


def _four_calls(model: type) -> tuple[int, object]:
    record = model(name='a')
    record.save()
    record.qty = 3
    record.save()
    record.name, record.qty = 'b', 4
    record.save()
    found = model.find_one(record.id)
    return record.id, found


def test_plans_follow_the_backend_and_its_dialect(sent_sql):
    # every live backend in one test (require_server fails under CI=true when one is down)
    class PlanProbe(ActiveRecord):
        __table_name__ = 'plan_probes'
        id: int | None = None
        name: str
        qty: int = 0

    order = ['sqlite', 'postgresql', 'mysql', 'sqlite']
    urls = {name: require_server(name) for name in set(order)}
    try:
        for name in order:
            PlanProbe.configure(urls[name])
            PlanProbe.drop_table(if_exists=True)
            PlanProbe.create_table()
            sent_sql.clear()
            key, found = _four_calls(PlanProbe)
            assert _on_table(sent_sql, 'plan_probes') == _SENT[name], name
            assert found is not None and (found.id, found.name, found.qty) == (key, 'b', 4)
            assert not found.is_dirty
            PlanProbe.drop_table()
            PlanProbe.backend().close()   # the next configure() makes a backend of its own
    finally:
        PlanProbe.backend().close()


def test_each_changed_column_set_has_its_own_update(db, sent_sql):
    class PlanPart(ActiveRecord):
        __table_name__ = 'plan_parts'
        id: int | None = None
        name: str
        qty: int = 0
        note: str | None = None

    db.use(PlanPart)
    record = PlanPart.create(name='a')
    quote = PlanPart.backend().dialect.quote
    steps = [({'name': 'b'}, ['name']), ({'qty': 2, 'name': 'c'}, ['name', 'qty']), ({'qty': 3}, ['qty']),
             ({'note': 'n'}, ['note']), ({'name': 'c'}, []), ({'name': 'd', 'qty': 3}, ['name']),
             ({'qty': 4, 'note': None, 'name': 'e'}, ['name', 'qty', 'note'])]
    for assigned, written in steps:
        sent_sql.clear()
        for field, value in assigned.items():
            setattr(record, field, value)
        record.save()
        updates = [sql for sql in sent_sql.writes() if sql.startswith('UPDATE')]
        if not written:
            assert updates == [], assigned
            continue
        assert len(updates) == 1, assigned
        set_clause = updates[0].split(' SET ', 1)[1].split(' WHERE ', 1)[0]
        assert [part.split(' = ')[0] for part in set_clause.split(', ')] == [quote(name) for name in written]
        assert not record.is_dirty
    stored = PlanPart.find_one(record.id)
    assert (stored.name, stored.qty, stored.note) == ('e', 4, None)


def test_plans_follow_the_columns_of_a_redefined_model_and_of_a_subclass(db, sent_sql):
    def define(with_unit: bool) -> type:
        if with_unit:
            class PlanGauge(ActiveRecord):
                __table_name__ = 'plan_gauges'
                id: int | None = None
                name: str
                unit: str | None = None
        else:
            class PlanGauge(ActiveRecord):  # type: ignore[no-redef]
                __table_name__ = 'plan_gauges'
                id: int | None = None
                name: str
        return PlanGauge

    older = define(with_unit=False)
    db.use(older)
    quote = older.backend().dialect.quote
    first = older.create(name='a')
    assert older.find_one(first.id).name == 'a'

    newer = define(with_unit=True)   # same name and table, one more column
    db.use(newer)                    # the table again, now with the unit column
    sent_sql.clear()
    second = newer.create(name='b', unit='mm')
    found = newer.find_one(second.id)
    assert (found.name, found.unit) == ('b', 'mm')
    sent = _on_table(sent_sql, 'plan_gauges')
    assert len(sent) == 2 and all(quote('unit') in sql for sql in sent), sent

    sent_sql.clear()
    third = older.create(name='c')   # the older class keeps its own plans: no unit column
    assert older.find_one(third.id).name == 'c'
    sent = _on_table(sent_sql, 'plan_gauges')
    assert len(sent) == 2 and not any(quote('unit') in sql for sql in sent), sent
    assert newer.find_one(third.id).unit is None

    class PlanGaugeNote(newer):   # a subclass adds a field, on a table of its own
        __table_name__ = 'plan_gauge_notes'
        note: str = ''

    db.use(PlanGaugeNote)
    sent_sql.clear()
    fourth = PlanGaugeNote.create(name='d', unit='m', note='n')
    found_note = PlanGaugeNote.find_one(fourth.id)
    assert (found_note.name, found_note.unit, found_note.note) == ('d', 'm', 'n')
    fifth = newer.create(name='e')
    assert newer.find_one(fifth.id).name == 'e'
    on_notes, on_gauges = _on_table(sent_sql, 'plan_gauge_notes'), _on_table(sent_sql, 'plan_gauges')
    assert len(on_notes) == 2 and all(quote('note') in sql for sql in on_notes), on_notes
    assert len(on_gauges) == 2 and not any(quote('note') in sql for sql in on_gauges), on_gauges


def test_two_databases_of_one_dialect_share_sql_but_not_rows(tmp_path, sent_sql):
    class PlanTwin(ActiveRecord):
        __table_name__ = 'plan_twins'
        id: int | None = None
        name: str

    first, second = f'sqlite:///{tmp_path / "first.db"}', f'sqlite:///{tmp_path / "second.db"}'
    try:
        PlanTwin.configure(first)
        PlanTwin.create_table()
        PlanTwin.create(name='in first')
        PlanTwin.configure(second)
        PlanTwin.create_table()
        assert PlanTwin.find_one(1) is None            # the same SQL, sent to the other database
        PlanTwin.create(name='in second')
        assert PlanTwin.find_one(1).name == 'in second'
        PlanTwin.configure(first)
        sent_sql.clear()
        assert PlanTwin.find_one(1).name == 'in first'
        assert PlanTwin.find_one({'name': 'in first'}).id == 1
        assert _on_table(sent_sql, 'plan_twins')[0] == 'SELECT "id", "name" FROM "plan_twins" WHERE "id" = ?'
    finally:
        PlanTwin.backend().close()
