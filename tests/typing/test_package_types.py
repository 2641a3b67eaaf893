"""Both type checkers, strict, over the package and over user code written against it.

The package itself must pass `mypy --strict` and pyright in strict mode (pyproject's
[tool.mypy] and [tool.pyright] say strict; these tests run the checkers with that configuration
from the project root). User code is checked by both: public_api.py's assert_type lines, and a
model constructor called with a wrong type and an unknown field, which both must report.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
PUBLIC_API = HERE / 'public_api.py'

CONSTRUCTOR_PROBE = '''\
from activerecord import ActiveRecord


class Account(ActiveRecord):
    id: int | None = None
    owner: str


Account(owner='ann')                 # fine: the key is optional as declared
Account(owner=1)                     # a wrong type
Account(owner='ann', nosuch=2)       # an unknown field
'''


def _run(command: list[str], cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != 'MYPYPATH'}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def _pyright() -> list[str]:
    found = shutil.which('pyright')
    if found is None:
        pytest.fail('pyright is not installed: `pip install -e ".[dev]"` installs it')
    return [found]


def test_package_passes_mypy_strict(tmp_path: pathlib.Path) -> None:
    result = _run([sys.executable, '-m', 'mypy', '--cache-dir', str(tmp_path / 'cache')], REPO)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert 'Success: no issues found' in result.stdout
    # the configuration really is strict and covers the package
    assert '[tool.mypy]\nstrict = true' in (REPO / 'pyproject.toml').read_text()


def test_package_passes_pyright_strict() -> None:
    result = _run(_pyright() + ['--outputjson'], REPO)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert '"errorCount": 0' in result.stdout
    assert '"filesAnalyzed": 0' not in result.stdout
    assert 'typeCheckingMode = "strict"' in (REPO / 'pyproject.toml').read_text()


def test_public_api_passes_pyright_strict() -> None:
    result = _run(_pyright() + [str(PUBLIC_API)], REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '0 errors' in result.stdout


def test_a_constructor_call_is_checked_by_mypy(tmp_path: pathlib.Path) -> None:
    probe = tmp_path / 'probe.py'
    probe.write_text(CONSTRUCTOR_PROBE)
    result = _run([sys.executable, '-m', 'mypy', '--no-error-summary', '--cache-dir',
                   str(tmp_path / 'cache'), '--follow-imports', 'silent', str(probe)], tmp_path)
    errors = [line for line in result.stdout.splitlines() if ': error:' in line]
    assert len(errors) == 2, result.stdout + result.stderr
    assert 'probe.py:10: error: Argument "owner" to "Account" has incompatible type "int"; expected "str"' in errors[0]
    assert 'probe.py:11: error: Unexpected keyword argument "nosuch" for "Account"' in errors[1]


def test_a_constructor_call_is_checked_by_pyright(tmp_path: pathlib.Path) -> None:
    probe = tmp_path / 'probe.py'
    probe.write_text(CONSTRUCTOR_PROBE)
    result = _run(_pyright() + ['--pythonpath', sys.executable, str(probe)], tmp_path)
    errors = [line.strip() for line in result.stdout.splitlines() if ' - error: ' in line]
    assert len(errors) == 2, result.stdout + result.stderr
    assert 'probe.py:10:' in errors[0] and '"Literal[1]" is not assignable to "str"' in result.stdout
    assert 'probe.py:11:' in errors[1] and 'No parameter named "nosuch"' in errors[1]
