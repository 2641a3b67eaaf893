"""The round trip of issue 20, on every live backend: a model set changes 14 times, and each
change goes through `make` (autogenerate into a folder) and `up`.

After each step: the schema equals what `create_all` makes from that version's models in a
scratch database (compared through `backend.schema`: columns, indexes by columns and
uniqueness, foreign keys), the rows inserted before the step still hold their values,
`check_schema()` is empty for every model, and `make` again finds nothing. A column rename goes
through a generated revision edited by hand (its drop + add rewritten into
`alter_column(new_name=...)`), as docs/migrations.md tells users to. At the end `down` goes back
one revision at a time, each step leaving the schema the way up had left it, down to nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Callable, Iterator

import pytest
from pydantic import Field

from activerecord import ActiveRecord, Column, create_all, drop_all
from activerecord.backend.base import StorageBackend
from activerecord.backend.registry import backend_class_for
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import ActiveRecordError
from activerecord.migrate import Migrator
from activerecord.migrate.autogenerate import make

from conftest import RUN_ID, matrix_urls, require_server
from tests.support import run_databases

AUTHORS, BOOKS, TAGS = 'rt_authors', 'rt_books', 'rt_tags'
REQUIRED = object()   # a field without a default
Fields = dict[str, tuple[Any, Any]]   # field -> (annotation, default or REQUIRED)


def ours(table: str) -> bool:
    return table.startswith('rt_')


@dataclass
class Version:
    """One version of the models: table -> fields (and __indexes__), with what its step renames."""

    message: str
    tables: dict[str, tuple[Fields, list[list[str]]]]
    #: (table, new column) -> old column, for the hand-edited rename
    renames: dict[tuple[str, str], str] = field(default_factory=dict[tuple[str, str], str])
    models: list[type[ActiveRecord]] = field(default_factory=list[type[ActiveRecord]])

    def change(self, message: str, table: str, drop: tuple[str, ...] = (), indexes: list[list[str]] | None = None,
               renames: dict[tuple[str, str], str] | None = None, **fields: tuple[Any, Any]) -> 'Version':
        """The next version: `table` with fields added or replaced, `drop` removed."""
        tables = {name: (dict(columns), list(index)) for name, (columns, index) in self.tables.items()}
        columns, index = tables.setdefault(table, ({'id': (int | None, None)}, []))
        for name in drop:
            del columns[name]
        columns.update(fields)
        tables[table] = (columns, index if indexes is None else indexes)
        return Version(message, tables, renames or {})

    def without(self, message: str, table: str) -> 'Version':
        return Version(message, {name: value for name, value in self.tables.items() if name != table})

    def build(self, number: int) -> None:
        """The model classes of this version (in foreign-key order: the tables are listed so)."""
        self.models = []
        for table, (columns, indexes) in self.tables.items():
            namespace: dict[str, Any] = {'__module__': __name__, '__table_name__': table, '__indexes__': indexes,
                                         '__annotations__': {name: kind for name, (kind, _) in columns.items()}}
            namespace.update({name: default for name, (_, default) in columns.items() if default is not REQUIRED})
            name = f'Rt{table.title().replace("_", "")}V{number}'
            self.models.append(type(ActiveRecord)(name, (ActiveRecord,), namespace))

    def defaults(self, table: str) -> dict[str, Any]:
        return {name: default for name, (_, default) in self.tables[table][0].items() if default is not REQUIRED}


NAME = Annotated[str, Field(max_length=50)]
V1 = Version('authors and books', {
    AUTHORS: ({'id': (int | None, None), 'name': (NAME, REQUIRED), 'bio': (str | None, None),
               'country': (Annotated[str | None, Field(max_length=20)], None)}, []),
    BOOKS: ({'id': (int | None, None), 'author_id': (Annotated[int, Column(references=f'{AUTHORS}.id')], REQUIRED),
             'title': (Annotated[str, Field(max_length=100)], REQUIRED),
             'price': (Annotated[Decimal | None, Field(max_digits=8, decimal_places=2)], None),
             'note': (Annotated[str | None, Field(max_length=40)], None)}, []),
})
V2 = V1.change('add email', AUTHORS, email=(Annotated[str | None, Field(max_length=80)], None))
V3 = V2.change('drop note', BOOKS, drop=('note',))
V4 = V3.change('country not null', AUTHORS, country=(Annotated[str, Field(max_length=20), Column(default='NL')], 'NL'))
V5 = V4.change('widen name', AUTHORS, name=(Annotated[str, Field(max_length=120)], REQUIRED))
V6 = V5.change('price precision', BOOKS,
               price=(Annotated[Decimal | None, Field(max_digits=12, decimal_places=4)], None))
V7 = V6.change('add indexes', BOOKS, indexes=[['author_id', 'title']]).change(
    'add indexes', AUTHORS, country=(Annotated[str, Field(max_length=20), Column(default='NL', index=True)], 'NL'))
V8 = V7.change('drop country index', AUTHORS,
               country=(Annotated[str, Field(max_length=20), Column(default='NL')], 'NL'))
V9 = V8.change('unique email', AUTHORS, email=(Annotated[str | None, Field(max_length=80), Column(unique=True)], None))
V10 = V9.change('email not unique', AUTHORS, email=(Annotated[str | None, Field(max_length=80)], None))
V11 = V10.change('add tags', TAGS, book_id=(int, REQUIRED), label=(Annotated[str, Field(max_length=30)], REQUIRED))
V12 = V11.change('tag key', TAGS,
                 book_id=(Annotated[int, Column(references=f'{BOOKS}.id', on_delete='CASCADE')], REQUIRED))
V13 = V12.change('drop author key', BOOKS, author_id=(int, REQUIRED))
V14 = V13.change('rename bio', AUTHORS, drop=('bio',), about=(str | None, None), renames={(AUTHORS, 'about'): 'bio'})
V15 = V14.without('drop tags', TAGS)
VERSIONS = [V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12, V13, V14, V15]
for _number, _version in enumerate(VERSIONS, 1):
    _version.build(_number)


def open_backend(url: str) -> StorageBackend:
    config = ConnectionConfig.from_url(url)
    assert config.scheme is not None
    return backend_class_for(config.scheme)(config)


Snapshot = dict[str, Any]


def snapshot(backend: StorageBackend) -> Snapshot:
    """The schema of the rt_ tables, in a form equal for equal schemas whatever made them:
    columns by name (order aside), indexes by columns and uniqueness (names aside; on
    MySQL/MariaDB the index InnoDB adds for a foreign key counts as it does for autogenerate:
    not at all), foreign keys by columns, target and ON DELETE."""
    schema = backend.schema
    implicit = bool(getattr(backend.dialect, 'introspect_foreign_key_indexes', False))
    found: Snapshot = {}
    for table in sorted(name for name in schema.tables() if ours(name)):
        keys = {(tuple(key.columns), key.ref_table, tuple(key.ref_columns), key.on_delete)
                for key in schema.foreign_keys(table)}
        indexes = {(tuple(index.columns), index.unique) for index in schema.indexes(table)
                   if not (implicit and not index.unique and any(index.columns == key[0] for key in keys))}
        columns = {column.name: (column.kind, _type(column.sql_type), column.nullable, column.default,
                                 column.primary_key, column.autoincrement) for column in schema.columns(table)}
        found[table] = {'columns': columns, 'indexes': indexes, 'foreign_keys': keys}
    return found


def _type(sql_type: str) -> str:
    return re.sub(r'\s+', ' ', sql_type.lower()).strip()


@dataclass
class Trip:
    """The database migrated, the scratch one create_all fills, the folder, and the expected rows."""

    name: str
    url: str
    scratch_url: str
    folder: Path
    backend: StorageBackend
    scratch: StorageBackend
    rows: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict[str, dict[int, dict[str, Any]]])

    def created(self, version: Version) -> Snapshot:
        """What create_all makes of the version's models (in the scratch database)."""
        for model in version.models:
            model.configure(self.scratch_url)
        create_all(version.models)
        try:
            return snapshot(self.scratch)
        finally:
            drop_all(version.models)
            for model in version.models:
                model.configure(self.url)

    def insert(self, version: Version, serial: int) -> None:
        """Rows of every table of the version, remembered with the values they were created with."""
        values: dict[str, dict[str, Any]] = {
            AUTHORS: {'name': f'author {serial}', 'bio': f'bio {serial}' if serial % 2 else None,
                      'country': None if serial % 2 else 'SE', 'email': f'a{serial}@example.org'},
            BOOKS: {'title': f'book {serial}', 'price': Decimal('12.34') + serial, 'note': f'note {serial}'},
            TAGS: {'label': f'tag {serial}'},
        }
        made: dict[str, int] = {}
        for model in version.models:
            table = model.__meta__.table_name
            given = {name: value for name, value in values[table].items()
                     if name in model.model_fields and value is not None}
            if 'author_id' in model.model_fields:
                given['author_id'] = made[AUTHORS]
            if 'book_id' in model.model_fields:
                given['book_id'] = made[BOOKS]
            row = model.create(**given)
            made[table] = row.id
            self.rows.setdefault(table, {})[row.id] = {name: getattr(row, name) for name in model.model_fields}

    def expect(self, version: Version) -> None:
        """The rows as they should read after the step to `version`: kept values, a renamed
        column's values under its new name, NULLs of a column made NOT NULL as its default."""
        rows: dict[str, dict[int, dict[str, Any]]] = {}
        for table, (columns, _) in version.tables.items():
            defaults = version.defaults(table)
            rows[table] = {}
            for key, old in self.rows.get(table, {}).items():
                new: dict[str, Any] = {}
                for name in columns:
                    value = old.get(version.renames.get((table, name), name))
                    new[name] = defaults.get(name) if value is None else value
                rows[table][key] = new
        self.rows = rows

    def read(self, version: Version) -> dict[str, dict[int, dict[str, Any]]]:
        return {model.__meta__.table_name: {row.id: {name: getattr(row, name) for name in model.model_fields}
                                            for row in model.query().order_by('id').all()}
                for model in version.models}


def _backend_urls(name: str, url: str, tmp_path: Path) -> tuple[str, str, Callable[[], None]]:
    """(migrated URL, scratch URL, clean-up) for a backend of the matrix."""
    if name == 'sqlite':
        return f'sqlite:///{tmp_path}/round_trip.db', f'sqlite:///{tmp_path}/scratch.db', lambda: None
    base = url.rsplit('/', 1)[0]
    scratch = f'{run_databases.PREFIX}{RUN_ID}_scratch'
    create, drop = {'postgresql': (run_databases.create_postgresql, run_databases.drop_postgresql),
                    'mysql': (run_databases.create_mysql, run_databases.drop_mysql)}[name]
    create(url, scratch)
    return url, f'{base}/{scratch}', lambda: drop(url, scratch)


@pytest.fixture
def trip(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Trip]:
    name = request.param
    url, scratch_url, clean = _backend_urls(name, require_server(name), tmp_path)
    backend, scratch = open_backend(url), open_backend(scratch_url)
    trip = Trip(name, url, scratch_url, tmp_path / 'migrations', backend, scratch)
    try:
        _drop_ours(backend)
        yield trip
    finally:
        try:
            _drop_ours(backend)
        finally:
            backend.close()
            scratch.close()
            try:
                for version in VERSIONS:
                    for model in version.models:
                        try:
                            model.backend().close()
                        except ActiveRecordError:
                            pass   # a version the failed run never reached: not configured
            finally:
                clean()


def _drop_ours(backend: StorageBackend) -> None:
    """Drop the rt_ tables and the history (referencing tables first) left by a failed run."""
    dialect = backend.dialect
    for table in (TAGS, BOOKS, AUTHORS, 'ar_schema_migrations'):
        backend.execute(dialect.drop_table_sql(table, if_exists=True))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The three backends issue 20 names (Oracle and SQL Server have no server here)."""
    if 'trip' in metafunc.fixturenames:
        names = [name for name in matrix_urls() if name in ('sqlite', 'postgresql', 'mysql')]
        metafunc.parametrize('trip', names, indirect=True)


def edit_into_rename(path: Path, table: str, old: str, new: str) -> None:
    """Rewrite a generated drop + add of a renamed column into alter_column(new_name=...)."""
    source = path.read_text(encoding='utf-8')
    up = f"op.alter_column({table!r}, {old!r}, new_name={new!r})"
    down = f"op.alter_column({table!r}, {new!r}, new_name={old!r})"
    assert f"op.drop_column({table!r}, {old!r})" in source and f"op.add_column({table!r}, {new!r}" in source
    head, _, _ = source.partition('def up(op):')
    path.write_text(f'{head}def up(op):\n    {up}\n\n\ndef down(op):\n    {down}\n', encoding='utf-8')


def test_fourteen_model_changes_make_up_and_down(trip: Trip) -> None:
    applied: list[tuple[str, Snapshot]] = []   # (revision, the schema up left) in order
    previous: Version | None = None
    for number, version in enumerate(VERSIONS, 1):
        for model in version.models:
            model.configure(trip.url)
        if previous is not None:
            trip.insert(previous, number)
        path = make(version.message, version.models, trip.backend, trip.folder, ours)
        assert path is not None, f'{version.message}: make found nothing to do'
        if version.renames:
            (table, new), old = next(iter(version.renames.items()))
            edit_into_rename(path, table, old, new)
        with Migrator(trip.url, trip.folder) as migrator:
            assert len(migrator.up()) == 1
        trip.expect(version)
        after = snapshot(trip.backend)
        assert after == trip.created(version), f'step {number} ({version.message}): schema differs from create_all'
        assert trip.read(version) == trip.rows, f'step {number} ({version.message}): rows changed'
        assert {model.__name__: model.check_schema() for model in version.models} == {
            model.__name__: [] for model in version.models}
        assert make('again', version.models, trip.backend, trip.folder, ours) is None, (
            f'step {number} ({version.message}): make found more to do')
        applied.append((path.stem, after))
        previous = version
    # down, one revision at a time: each leaves the schema up had left before it
    with Migrator(trip.url, trip.folder) as migrator:
        for index in range(len(applied) - 1, -1, -1):
            assert migrator.down() == [applied[index][0]]
            expected = applied[index - 1][1] if index else {}
            assert snapshot(trip.backend) == expected, f'down from {applied[index][0]}: schema differs'
        assert migrator.history() == {}
