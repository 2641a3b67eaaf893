"""sqlite:///x.db is a relative path (as documented); when it cannot be opened the error says how
to write an absolute one."""
from __future__ import annotations

import pytest

from activerecord import ActiveRecord
from activerecord.errors import OperationalError


class Diary(ActiveRecord):
    __table_name__ = 'diary'
    id: int
    text: str


@pytest.fixture(autouse=True)
def fresh_backend():
    yield
    Diary.backend().close()


def test_a_relative_path_is_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'tmp').mkdir()
    Diary.configure('sqlite:///tmp/app.db')
    Diary.create_table()
    Diary.create(text='here')
    assert (tmp_path / 'tmp' / 'app.db').is_file()
    assert Diary.backend().config.database == 'tmp/app.db'


def test_a_relative_path_that_cannot_be_opened_hints_at_the_absolute_form(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Diary.configure('sqlite:///tmp/no_such_dir/app.db')
    with pytest.raises(OperationalError) as caught:
        Diary.create_table()
    message = str(caught.value)
    assert message.startswith('cannot connect to sqlite at tmp/no_such_dir/app.db: unable to open database file')
    assert f'sqlite:///tmp/no_such_dir/app.db is a path relative to the working directory {str(tmp_path)!r}' in message
    assert message.endswith('for an absolute path write sqlite:////tmp/no_such_dir/app.db)')


def test_an_absolute_path_gets_no_such_hint(tmp_path):
    Diary.configure(f'sqlite:///{tmp_path}/no_such_dir/app.db')
    assert Diary.backend().config.database == f'{tmp_path}/no_such_dir/app.db'
    with pytest.raises(OperationalError, match='unable to open database file') as caught:
        Diary.create_table()
    assert 'relative' not in str(caught.value) and 'sqlite:////' not in str(caught.value)
