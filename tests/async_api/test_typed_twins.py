"""The twins as a type checker sees them: mypy over typed_twins.py (its assert_type lines)."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent


def test_the_twins_are_typed_like_their_sync_methods(tmp_path: pathlib.Path) -> None:
    # errors inside the package itself are `mypy --strict activerecord`'s to report: silenced here
    env = dict(os.environ, MYPYPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, '-m', 'mypy', '--no-error-summary', '--hide-error-context', '--follow-imports', 'silent',
         '--cache-dir', str(tmp_path / 'cache'), str(HERE / 'typed_twins.py')],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ''
