"""The public API as a type checker sees it: mypy over public_api.py, run in a temporary directory.

public_api.py is checked against this work tree's package (MYPYPATH; errors inside the package
itself are the later `mypy --strict` check's, so they are silenced here). A separate test runs mypy
without MYPYPATH, the way a user's project does, to check that the installed package (editable or
not, see pyproject's [tool.setuptools]) is visible to type checkers with its py.typed marker.
"""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

import activerecord

HERE = pathlib.Path(__file__).resolve().parent
PUBLIC_API = HERE / 'public_api.py'
REPO = HERE.parent.parent


@pytest.fixture(scope='module')
def mypy(tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp('mypy')

    def run(path: pathlib.Path, installed: bool = False) -> subprocess.CompletedProcess[str]:
        env = {key: value for key, value in os.environ.items() if key != 'MYPYPATH'}
        if not installed:
            env['MYPYPATH'] = str(REPO)
        cache = workdir / ('cache-installed' if installed else 'cache')
        return subprocess.run(
            [sys.executable, '-m', 'mypy', '--no-error-summary', '--hide-error-context',
             '--follow-imports', 'silent', '--cache-dir', str(cache), str(path)],
            cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    run.workdir = workdir  # type: ignore[attr-defined]
    return run


def test_package_ships_py_typed() -> None:
    assert (pathlib.Path(activerecord.__file__).parent / 'py.typed').is_file()


def test_checkers_find_the_installed_package(mypy) -> None:
    probe = mypy.workdir / 'probe.py'
    probe.write_text('import activerecord\nreveal_type(activerecord.ActiveRecord.find_all)\n')
    result = mypy(probe, installed=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'Revealed type is "def (condition: Any =) -> list[activerecord.' in result.stdout, result.stdout


def test_public_api_types_check(mypy) -> None:
    result = mypy(PUBLIC_API)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ''


def test_a_wrong_type_is_rejected(mypy) -> None:
    # The same checks with one wrong expectation: mypy must name it, so the check above is real.
    source = PUBLIC_API.read_text()
    right = "assert_type(query.first(), 'Author | None')"
    assert right in source
    wrong = mypy.workdir / 'wrong_api.py'
    wrong.write_text(source.replace(right, 'assert_type(query.first(), Author)'))
    result = mypy(wrong)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if ': error:' in line]
    assert len(errors) == 1, result.stdout
    assert 'Expression is of type "Author | None", not "Author"' in errors[0]
    # and an unknown module is an error too: mypy is not silently ignoring imports
    missing = mypy.workdir / 'missing.py'
    missing.write_text('import activerecord_no_such_package\n')
    assert mypy(missing).returncode == 1


WRONG_TARGETS = '''

def check_wrong_targets(writer: Writer, book: Book, bio: Bio) -> None:
    writer.clubs.add(bio)
    writer.clubs.remove(book)
    writer.clubs.set([bio])
    book.writer.set(bio)
'''


def test_a_wrong_relation_target_is_rejected(mypy) -> None:
    # Relation writes are typed by the target model: a record of another model is a type error.
    wrong = mypy.workdir / 'wrong_targets.py'
    wrong.write_text(PUBLIC_API.read_text() + WRONG_TARGETS)
    result = mypy(wrong)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line.partition(': error: ')[2] for line in result.stdout.splitlines() if ': error: ' in line]
    assert errors == [
        'Argument 1 to "add" of "HasAccessor" has incompatible type "Bio"; expected "Club"  [arg-type]',
        'Argument 1 to "remove" of "HasAccessor" has incompatible type "Book"; expected "Club"  [arg-type]',
        'List item 0 has incompatible type "Bio"; expected "Club"  [list-item]',
        'Argument 1 to "set" of "BelongsToAccessor" has incompatible type "Bio"; expected "Writer | None"  '
        '[arg-type]',
    ], result.stdout
