"""Autogenerate (`migrate make`): models against the live schema, on every live backend.

The key property first: a model set created by create_all compares as "nothing to do" (no false
positive from type spellings, default formatting or index names). Then the models change and
the generated revision is executed against a recording `op`, so the test checks the calls the
file really makes; finally the revision is applied and `make` finds nothing again.
"""
from __future__ import annotations

import datetime
import enum
import sys
import uuid
import typing
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import Field, NaiveDatetime

from activerecord import ActiveRecord, Column, create_all, drop_all, raw
from activerecord.cli import main
from activerecord.migrate import Migrator
from activerecord.migrate.autogenerate import compare, make, models_in, render_revision, table_filter
from activerecord.types import register_type


def _ours(table: str) -> bool:
    return table.startswith('ag_')


class AgUser(ActiveRecord):
    __table_name__ = 'ag_users'
    id: int | None = None
    name: Annotated[str, Field(max_length=50), Column(unique=True)]
    nickname: Annotated[str | None, Field(max_length=20)] = None
    bio: Annotated[str | None, Field(max_length=50)] = None
    notes: str | None = None
    score: Annotated[int, Column(default=0)] = 0
    ratio: Annotated[Decimal, Field(max_digits=10, decimal_places=2), Column(default=Decimal('1.50'))] = Decimal('1.50')
    active: Annotated[bool, Column(default=True, index=True)] = True
    colour: Annotated[str, Field(max_length=20), Column(default="it's")] = "it's"
    created: Annotated[datetime.datetime, Column(default=raw('CURRENT_TIMESTAMP'))] | None = None
    seen: NaiveDatetime | None = None
    born: datetime.date | None = None
    data: dict[str, Any] | None = None
    __indexes__ = [['score', 'active'], {'fields': ['colour', 'born'], 'unique': True}]


class AgPost(ActiveRecord):
    __table_name__ = 'ag_posts'
    id: int | None = None
    user_id: Annotated[int, Column(references=AgUser, on_delete='CASCADE')]
    title: Annotated[str, Field(max_length=100)]
    editor_id: int | None = None


class AgTagging(ActiveRecord):
    __table_name__ = 'ag_taggings'
    __primary_key__ = ('post_id', 'tag')
    post_id: Annotated[int, Column(references=AgPost)]
    tag: Annotated[str, Field(max_length=30)]


# The next version: nickname dropped, email added, bio widened, score's default changed, born
# indexed, title unique, editor_id a foreign key.

class AgUser2(ActiveRecord):
    __table_name__ = 'ag_users'
    id: int | None = None
    name: Annotated[str, Field(max_length=50), Column(unique=True)]
    email: Annotated[str | None, Field(max_length=120)] = None
    bio: Annotated[str | None, Field(max_length=200)] = None
    notes: str | None = None
    score: Annotated[int, Column(default=5)] = 5
    ratio: Annotated[Decimal, Field(max_digits=10, decimal_places=2), Column(default=Decimal('1.50'))] = Decimal('1.50')
    active: Annotated[bool, Column(default=True, index=True)] = True
    colour: Annotated[str, Field(max_length=20), Column(default="it's")] = "it's"
    created: Annotated[datetime.datetime, Column(default=raw('CURRENT_TIMESTAMP'))] | None = None
    seen: NaiveDatetime | None = None
    born: Annotated[datetime.date | None, Column(index=True)] = None
    data: dict[str, Any] | None = None
    __indexes__ = [['score', 'active'], {'fields': ['colour', 'born'], 'unique': True}]


class AgPost2(ActiveRecord):
    __table_name__ = 'ag_posts'
    id: int | None = None
    user_id: Annotated[int, Column(references=AgUser2, on_delete='CASCADE')]
    title: Annotated[str, Field(max_length=100), Column(unique=True)]
    editor_id: Annotated[int | None, Column(references=AgUser2, on_delete='SET NULL')] = None


class AgTagging2(ActiveRecord):
    __table_name__ = 'ag_taggings'
    __primary_key__ = ('post_id', 'tag')
    post_id: Annotated[int, Column(references=AgPost2)]
    tag: Annotated[str, Field(max_length=30)]


class AgLabel(ActiveRecord):
    """A table only the second version has."""
    __table_name__ = 'ag_labels'
    id: int | None = None
    post_id: Annotated[int, Column(references=AgPost2)]
    text: Annotated[str, Field(max_length=40), Column(default='new')] = 'new'


class Size(enum.Enum):
    SMALL = 'small'
    LARGE = 'large'


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class AgKinds(ActiveRecord):
    """One field of each kind the type maps know, with defaults of each literal form."""
    __table_name__ = 'ag_kinds'
    id: int | None = None
    size: Annotated[Size, Column(default='small')] = Size.SMALL
    level: Level | None = None
    numbers: list[int] | None = None
    words: list[str] | None = None
    blob: Annotated[bytes | None, Field(max_length=64)] = None
    payload: bytes | None = None
    wait: datetime.timedelta | None = None
    key: uuid.UUID | None = None
    weight: Annotated[float, Column(default=1.5)] = 1.5
    start: Annotated[datetime.date, Column(default=datetime.date(2020, 1, 2))] = datetime.date(2020, 1, 2)
    alarm: datetime.time | None = None
    price: Decimal | None = None
    empty: Annotated[str, Field(max_length=10), Column(default='')] = ''
    negative: Annotated[int, Column(default=-3)] = -3
    flag: Annotated[bool, Column(default=False)] = False
    label: Annotated[str, Field(max_length=30), Column(default='5')] = '5'


V1 = [AgUser, AgPost, AgTagging]
V2 = [AgUser2, AgPost2, AgTagging2, AgLabel]


# -- a recording op: what the generated file calls -------------------------------------------

def type_label(value: Any) -> str:
    """A type given to an operation, as a short label: 'str[120]', 'Decimal[10,2]', 'int'."""
    if typing.get_origin(value) is Annotated:
        base = type_label(typing.get_args(value)[0])
        sizes = []
        for item in value.__metadata__:
            for attribute in ('max_length', 'max_digits', 'decimal_places'):
                found = getattr(item, attribute, None)
                if found is None:
                    found = next((getattr(inner, attribute) for inner in getattr(item, 'metadata', [])
                                  if getattr(inner, attribute, None) is not None), None)
                if found is not None:
                    sizes.append(str(found))
        return f'{base}[{",".join(sizes)}]'
    return getattr(value, '__name__', repr(value))


def plain(value: Any) -> Any:
    if isinstance(value, (type, typing._GenericAlias)) or typing.get_origin(value) is not None:  # type: ignore[attr-defined]
        return type_label(value)
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if hasattr(value, '__sql__'):
        return f'raw({value.text})'
    return value


class RecordingOp:
    """Stands for the migrator's `op`: records every call with types as labels."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __getattr__(self, name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, *[plain(arg) for arg in args], {k: plain(v) for k, v in kwargs.items()}))
        return record


def run_source(source: str) -> tuple[dict[str, Any], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Execute a generated revision; its namespace and the calls of up and down."""
    namespace: dict[str, Any] = {}
    exec(compile(source, 'revision.py', 'exec'), namespace)
    up, down = RecordingOp(), RecordingOp()
    namespace['up'](up)
    namespace['down'](down)
    return namespace, up.calls, down.calls


# -- tests --------------------------------------------------------------------------------------

def test_created_models_compare_equal(db):
    """create_all from models, then compare: nothing to do on every backend."""
    db.use(*V1)
    changes = compare(V1, db.backend, _ours)
    assert [call.source() for call in changes.up] == []
    assert not changes


def test_every_kind_and_default_form_compares_equal(db):
    db.use(AgKinds)
    assert [call.source() for call in compare([AgKinds], db.backend, _ours).up] == []


class Code(str):
    """A registered custom type: its column is given to operations as SQL text."""


register_type(Code, 'VARCHAR(64)', str, Code)


class AgCustom(ActiveRecord):
    __table_name__ = 'ag_custom'
    id: int | None = None


class AgCustom2(ActiveRecord):
    __table_name__ = 'ag_custom'
    id: int | None = None
    code: Code | None = None


def test_a_custom_type_compares_by_its_column_and_is_added_as_sql(db):
    db.use(AgCustom)
    _, up, down = run_source(render_revision(compare([AgCustom2], db.backend, _ours), '1', None, 'code'))
    assert up == [('add_column', 'ag_custom', 'code', 'VARCHAR(64)', {'nullable': True})]
    assert down == [('drop_column', 'ag_custom', 'code', {})]
    db.use(AgCustom2)
    assert not compare([AgCustom2], db.backend, _ours)


def test_second_version_generates_the_expected_calls(db):
    db.use(*V1)
    changes = compare(V2, db.backend, _ours)
    namespace, up, down = run_source(render_revision(changes, '0002_v2', '0001_v1', 'v2'))
    assert namespace['revision'] == '0002_v2' and namespace['down_revision'] == '0001_v1'
    by_name = {}
    for call in up:
        by_name.setdefault(call[0], []).append(call[1:])
    assert by_name.pop('create_table') == [(
        'ag_labels',
        ['id', 'int', {'nullable': False, 'primary_key': True, 'autoincrement': True}],
        ['post_id', 'int', {'nullable': False, 'references': 'ag_posts.id'}],
        ['text', 'str[40]', {'nullable': False, 'default': 'new'}], {})]
    assert by_name.pop('add_column') == [('ag_users', 'email', 'str[120]', {'nullable': True})]
    assert by_name.pop('drop_column') == [('ag_users', 'nickname', {})]
    assert sorted(by_name.pop('alter_column'), key=repr) == sorted([
        ('ag_users', 'bio', {'type': 'str[200]'}),
        ('ag_users', 'score', {'default': 5})], key=repr)
    assert sorted(by_name.pop('create_index'), key=repr) == sorted([
        ('ag_users', ['born'], {}), ('ag_posts', ['title'], {'unique': True})], key=repr)
    assert by_name.pop('add_foreign_key') == [
        ('ag_posts', ['editor_id'], 'ag_users', ['id'], {'on_delete': 'SET NULL'})]
    assert by_name == {}
    # down undoes each step in reverse: the key and indexes go first, the table last
    assert down[0] == ('drop_foreign_key', 'ag_posts', {'columns': ['editor_id']})
    assert ('alter_column', 'ag_users', 'bio', {'type': 'str[50]'}) in down
    assert ('alter_column', 'ag_users', 'score', {'default': 0}) in down
    assert ('add_column', 'ag_users', 'nickname', 'str[20]', {'nullable': True}) in down
    assert ('drop_column', 'ag_users', 'email', {}) in down
    assert down[-1] == ('drop_table', 'ag_labels', {})


class AgUser3(ActiveRecord):
    """AgUser with a wider Decimal, notes made NOT NULL with a default, and no indexes but the key's."""
    __table_name__ = 'ag_users'
    id: int | None = None
    name: Annotated[str, Field(max_length=50)]
    nickname: Annotated[str | None, Field(max_length=20)] = None
    bio: Annotated[str | None, Field(max_length=50)] = None
    notes: Annotated[str, Column(default='none')] = 'none'
    score: Annotated[int, Column(default=0)] = 0
    ratio: Annotated[Decimal, Field(max_digits=12, decimal_places=4), Column(default=Decimal('1.50'))] = Decimal('1.50')
    active: Annotated[bool, Column(default=True)] = True
    colour: Annotated[str, Field(max_length=20), Column(default="it's")] = "it's"
    created: Annotated[datetime.datetime, Column(default=raw('CURRENT_TIMESTAMP'))] | None = None
    seen: NaiveDatetime | None = None
    born: datetime.date | None = None
    data: dict[str, Any] | None = None


class AgPost3(ActiveRecord):
    __table_name__ = 'ag_posts'
    id: int | None = None
    user_id: int
    title: Annotated[str, Field(max_length=100)]
    editor_id: int | None = None


def test_precision_nullability_and_dropped_indexes_and_keys(db, tmp_path):
    _file_url(db, tmp_path)
    db.use(*V1)
    V3 = [AgUser3, AgPost3, AgTagging]
    changes = compare(V3, db.backend, _ours)
    _, up, down = run_source(render_revision(changes, '0001_v3', None, 'v3'))
    indexes = [(['name'], True), (['active'], False), (['score', 'active'], False), (['colour', 'born'], True)]
    assert up[0] == ('drop_foreign_key', 'ag_posts', {'columns': ['user_id']})
    assert sorted(up[1:5]) == sorted(('drop_index', 'ag_users', columns, {}) for columns, _ in indexes)
    assert up[5:] == [('alter_column', 'ag_users', 'notes', {'nullable': False, 'default': 'none'}),
                      ('alter_column', 'ag_users', 'ratio', {'type': 'Decimal[12,4]'})]
    assert down[:2] == [('alter_column', 'ag_users', 'ratio', {'type': 'Decimal[10,2]'}),
                        ('alter_column', 'ag_users', 'notes', {'nullable': True, 'default': None})]
    assert sorted(down[2:6]) == sorted(('create_index', 'ag_users', columns, {'unique': True} if unique else {})
                                       for columns, unique in indexes)
    assert down[6:] == [('add_foreign_key', 'ag_posts', ['user_id'], 'ag_users', ['id'], {'on_delete': 'CASCADE'})]
    # applied, the rows keep their values (a NULL note becomes the default) and make finds nothing
    AgUser.create(name='bo', ratio=Decimal('2.25'))
    folder = tmp_path / 'migrations'
    make('v3', V3, db.backend, folder, _ours)
    with Migrator(db.url, folder) as migrator:
        migrator.up()
    for model in V3:
        model.configure(db.url)
    assert [call.source() for call in compare(V3, db.backend, _ours).up] == []
    row = AgUser3.query().first()
    assert row is not None and (row.notes, row.ratio) == ('none', Decimal('2.25'))
    with Migrator(db.url, folder) as migrator:
        migrator.down(to='base')
    assert [call.source() for call in compare(V1, db.backend, _ours).up] == []


def test_drop_and_add_is_never_a_guessed_rename(db):
    db.use(*V1)
    source = render_revision(compare(V2, db.backend, _ours), '0002', None, 'v2')
    assert 'never guesses a rename' in source
    assert "op.alter_column('ag_users', 'nickname', new_name='email')" in source


class AgTag(ActiveRecord):
    """ag_taggings under another name: a rename autogenerate sees as a drop and a create."""
    __table_name__ = 'ag_tags'
    __primary_key__ = ('post_id', 'tag')
    post_id: Annotated[int, Column(references=AgPost)]
    tag: Annotated[str, Field(max_length=30)]


def test_a_renamed_table_is_a_drop_and_a_create_with_a_hint(db):
    db.use(*V1)
    source = render_revision(compare([AgUser, AgPost, AgTag], db.backend, _ours), '2', None, 'rename')
    assert "op.rename_table('ag_taggings', 'ag_tags') (autogenerate never guesses a rename)" in source
    _, up, _ = run_source(source)
    assert [call[:2] for call in up] == [('create_table', 'ag_tags'), ('drop_table', 'ag_taggings')]


def test_a_table_no_model_has_is_dropped_and_down_recreates_it(db):
    db.use(*V1)
    changes = compare(V1[:2], db.backend, _ours)
    _, up, down = run_source(render_revision(changes, '0002', None, 'drop taggings'))
    assert up == [('drop_table', 'ag_taggings', {})]
    # down makes it again as it was: columns, composite key, its foreign key
    assert down == [('create_table', 'ag_taggings',
                     ['post_id', 'int', {'nullable': False, 'references': 'ag_posts.id'}],
                     ['tag', 'str[30]', {'nullable': False}], {'primary_key': ['post_id', 'tag']})]


def _file_url(db, tmp_path: Path) -> None:
    """The migrator opens its own connection: SQLite needs a file both can see."""
    if db.name == 'sqlite':
        db.url = f'sqlite:///{tmp_path}/autogenerate.db'


def test_make_apply_and_make_again_finds_nothing(db, tmp_path):
    _file_url(db, tmp_path)
    db.use(*V1)
    folder = tmp_path / 'migrations'
    assert make('first', V1, db.backend, folder, _ours) is None
    assert not folder.joinpath('0001_first.py').exists()
    AgUser.create(name='ann', nickname='a', bio='short')
    path = make('second version', V2, db.backend, folder, _ours)
    assert path is not None and path.name == '0001_second_version.py'
    with Migrator(db.url, folder) as migrator:
        assert migrator.up() == ['0001_second_version']
    try:
        for model in V2:
            model.configure(db.url)
        assert [call.source() for call in compare(V2, db.backend, _ours).up] == []
        assert all(model.check_schema() == [] for model in V2)
        row = AgUser2.query().where(AgUser2.c.name == 'ann').first()
        assert row is not None and row.bio == 'short' and row.email is None
        assert make('again', V2, db.backend, folder, _ours) is None
        with Migrator(db.url, folder) as migrator:
            assert migrator.down(to='base') == ['0001_second_version']
        assert [call.source() for call in compare(V1, db.backend, _ours).up] == []
    finally:
        drop_all(V2)


def test_make_refuses_while_revisions_are_pending(db, tmp_path):
    _file_url(db, tmp_path)
    db.use(*V1)
    folder = tmp_path / 'migrations'
    assert make('second', V2, db.backend, folder, _ours) is not None
    with pytest.raises(Exception, match='not applied'):
        make('third', V2, db.backend, folder, _ours)


def test_models_in_finds_the_models_of_a_module(tmp_path, monkeypatch):
    package = tmp_path / 'agapp'
    package.mkdir()
    (package / '__init__.py').write_text('from .models import Shop\n')
    (package / 'models.py').write_text(
        'from activerecord import ActiveRecord\n'
        'class Base(ActiveRecord):\n    __abstract__ = True\n'
        'class Shop(Base):\n    __table_name__ = "ag_shops"\n    id: int | None = None\n    name: str\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        found = models_in(['agapp'])
        assert [model.__name__ for model in found] == ['Shop']
        assert models_in(['agapp.models']) == found
    finally:
        for name in [name for name in sys.modules if name.startswith('agapp')]:
            del sys.modules[name]


def test_make_command_writes_a_file_then_says_nothing_to_do(db, tmp_path, monkeypatch, capsys):
    _file_url(db, tmp_path)
    module = tmp_path / 'ag_cli_models.py'
    module.write_text(
        'from typing import Annotated\nfrom pydantic import Field\n'
        'from activerecord import ActiveRecord, Column\n'
        'class AgCliThing(ActiveRecord):\n    __table_name__ = "ag_cli_things"\n    id: int | None = None\n'
        '    name: Annotated[str, Field(max_length=30), Column(index=True)]\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    folder = tmp_path / 'migrations'
    try:
        arguments = ['migrate', 'make', 'things', '--models', 'ag_cli_models', '--url', db.url,
                     '--dir', str(folder)]
        assert main(arguments) == 0
        assert [path.name for path in folder.glob('*.py')] == ['0001_things.py']
        assert 'wrote' in capsys.readouterr().out
        assert main(['migrate', 'up', '--url', db.url, '--dir', str(folder)]) == 0
        capsys.readouterr()
        assert main(arguments) == 0
        assert 'nothing to do' in capsys.readouterr().out
        assert [path.name for path in folder.glob('*.py')] == ['0001_things.py']
        assert main(['migrate', 'make', 'x', '--models', 'no_such_module_ag', '--url', db.url,
                     '--dir', str(folder)]) == 2
        assert 'no_such_module_ag' in capsys.readouterr().err
    finally:
        main(['migrate', 'down', '--to', 'base', '--url', db.url, '--dir', str(folder)])
        sys.modules.pop('ag_cli_models', None)


def test_create_all_models_on_a_fresh_database_need_a_create_table_each(db):
    db.use(*V2, create=False)
    drop_all(V2)
    try:
        changes = compare(V2, db.backend, _ours)
        names = [call.name for call in changes.up]
        assert names.count('create_table') == 4
        # foreign-key order: users before posts before taggings and labels
        tables = [call.args[0] for call in changes.up if call.name == 'create_table']
        assert tables.index('ag_users') < tables.index('ag_posts') < tables.index('ag_taggings')
        create_all(V2)
        assert not compare(V2, db.backend, _ours)
    finally:
        drop_all(V2)


def test_a_new_revision_follows_the_head_and_the_highest_number(db, tmp_path):
    _file_url(db, tmp_path)
    db.use(*V1)
    folder = tmp_path / 'migrations'
    folder.mkdir()
    folder.joinpath('0007_start.py').write_text(
        "revision = 'start'\ndown_revision = None\ndef up(op):\n    pass\ndef down(op):\n    pass\n")
    with Migrator(db.url, folder) as migrator:
        migrator.up()
    path = make('Add "email", widen bio!', V2, db.backend, folder, _ours)
    assert path is not None and path.name == '0008_add_email_widen_bio.py'
    namespace, _, _ = run_source(path.read_text())
    assert (namespace['revision'], namespace['down_revision']) == ('0008_add_email_widen_bio', 'start')
    assert namespace['__doc__'].startswith('Add "email", widen bio!')
    assert not list(folder.glob('*.tmp'))


def test_table_patterns_choose_which_tables_without_a_model_are_dropped(db):
    db.use(*V1)
    assert table_filter() is None
    keep_taggings = table_filter(include=['AG_*'], exclude=['ag_tag*'])
    assert keep_taggings is not None and keep_taggings('ag_other') and not keep_taggings('ag_taggings')
    assert not keep_taggings('users')
    assert not compare(V1[:2], db.backend, keep_taggings)
    changes = compare(V1[:2], db.backend, table_filter(include=['ag_*']), '--models app.models')
    assert [call.source() for call in changes.up] == ["op.drop_table('ag_taggings')"]
    assert changes.up[0].comment is not None and 'no model in --models app.models' in changes.up[0].comment


def test_make_command_takes_include_and_exclude_patterns(db, tmp_path, monkeypatch, capsys):
    _file_url(db, tmp_path)
    module = tmp_path / 'ag_cli_patterns.py'
    module.write_text('from activerecord import ActiveRecord\n'
                      'class AgCliKept(ActiveRecord):\n    __table_name__ = "ag_cli_kept"\n    id: int | None = None\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    db.use(AgCustom)   # a connection to make the two tables no model has
    for table in ('ag_cli_gone', 'ag_cli_keep_me'):
        db.backend.execute(f'CREATE TABLE {table} (id INTEGER PRIMARY KEY)')
    folder = tmp_path / 'migrations'
    try:
        assert main(['migrate', 'make', 'patterns', '--models', 'ag_cli_patterns', '--url', db.url,
                     '--dir', str(folder), '--include', 'ag_cli_*', '--exclude', 'ag_cli_keep*']) == 0
        assert 'wrote' in capsys.readouterr().out
        source = folder.joinpath('0001_patterns.py').read_text()
        _, up, _ = run_source(source)
        assert [call[:2] for call in up] == [('create_table', 'ag_cli_kept'), ('drop_table', 'ag_cli_gone')]
        assert '# no model in --models ag_cli_patterns has this table' in source
    finally:
        for table in ('ag_cli_gone', 'ag_cli_keep_me'):
            db.backend.execute(db.backend.dialect.drop_table_sql(table, if_exists=True))
        sys.modules.pop('ag_cli_patterns', None)
