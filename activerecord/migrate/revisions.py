"""Revision files: load a folder of migrations and put them in their one chain.

A revision file is a Python module with `revision` (its id), `down_revision` (the id it follows,
None for the first), `up(op)` and `down(op)`. The files form one chain from the first revision
to the head; two revisions following the same one (a fork, from two branches merged) is an
error naming both heads, since applying them in either order could be wrong.
"""
from __future__ import annotations

import hashlib
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from ..errors import MigrationError

#: a revision id is written into SQL (the history rows, the offline script): letters, digits,
#: `_ . -` only, so that it never needs quoting
REVISION_ID = re.compile(r'[A-Za-z0-9_.\-]{1,255}')
#: the `down --to` target that reverts every revision
BASE = 'base'


@dataclass(frozen=True)
class Revision:
    """One migration file: its id, the id it follows, and its two directions."""
    revision: str
    down_revision: str | None
    path: Path
    up: Callable[[Any], None]
    down: Callable[[Any], None]


def load_revisions(directory: str | Path) -> list[Revision]:
    """Every revision file of `directory` (`*.py`, not `_*.py`), in file-name order."""
    folder = Path(directory)
    if not folder.is_dir():
        raise MigrationError(f'migrations folder {str(folder)!r} does not exist; '
                             'create it (or give --dir) and put revision files in it')
    return [_load(path) for path in sorted(folder.glob('*.py')) if not path.name.startswith('_')]


def _load(path: Path) -> Revision:
    # A private module name per file, not entered in sys.modules: two projects' folders may hold
    # files of the same name, and a revision file is not meant to be imported by others.
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(f'_ar_migration_{digest}_{path.stem}', path)
    if spec is None or spec.loader is None:
        raise MigrationError(f'{path}: cannot be loaded as a Python module')
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise MigrationError(f'{path}: failed to import: {type(error).__name__}: {error}') from error
    return Revision(_revision_id(module, path, 'revision'), _down_revision(module, path), path,
                    _direction(module, path, 'up'), _direction(module, path, 'down'))


def _revision_id(module: ModuleType, path: Path, name: str) -> str:
    if not hasattr(module, name):
        raise MigrationError(f'{path}: has no `{name}` (expected e.g. {name} = "0001_initial")')
    value: object = getattr(module, name)
    if not isinstance(value, str) or not REVISION_ID.fullmatch(value):
        raise MigrationError(f'{path}: {name} = {value!r}; expected a string of letters, digits, '
                             '"_", "." or "-" (at most 255 characters)')
    if value == BASE:
        raise MigrationError(f'{path}: {name} = {BASE!r} is reserved (`down --to {BASE}` reverts everything)')
    return value


def _down_revision(module: ModuleType, path: Path) -> str | None:
    if not hasattr(module, 'down_revision'):
        raise MigrationError(f'{path}: has no `down_revision` (None for the first revision)')
    if getattr(module, 'down_revision') is None:
        return None
    return _revision_id(module, path, 'down_revision')


def _direction(module: ModuleType, path: Path, name: str) -> Callable[[Any], None]:
    function: object = getattr(module, name, None)
    if not callable(function):
        raise MigrationError(f'{path}: has no function `{name}(op)`')
    return function  # pyright: ignore[reportReturnType] - a user's function, called with op


def build_chain(revisions: list[Revision]) -> list[Revision]:
    """The revisions in order from the first to the head; MigrationError on a fork, a gap or a loop."""
    by_id: dict[str, Revision] = {}
    for item in revisions:
        if item.revision in by_id:
            raise MigrationError(f'revision {item.revision!r} is defined twice: in '
                                 f'{by_id[item.revision].path} and in {item.path}')
        by_id[item.revision] = item
    children: dict[str | None, list[Revision]] = {}
    for item in revisions:
        if item.down_revision is not None and item.down_revision not in by_id:
            raise MigrationError(f'{item.path}: down_revision {item.down_revision!r} is not a revision '
                                 'of this folder')
        children.setdefault(item.down_revision, []).append(item)
    for parent, following in children.items():
        if len(following) > 1:
            heads = sorted(_head_of(child, children).revision for child in following)
            after = 'the start' if parent is None else f'revision {parent!r}'
            raise MigrationError(
                f'the migrations fork after {after}: heads {" and ".join(repr(h) for h in heads)} '
                f'({", ".join(str(child.path.name) for child in following)} follow the same revision); '
                'edit one down_revision so that they form one chain')
    chain: list[Revision] = []
    current = children.get(None, [])
    while current:
        chain.append(current[0])
        current = children.get(current[0].revision, [])
    if len(chain) != len(revisions):
        stranded = sorted(set(by_id) - {item.revision for item in chain})
        raise MigrationError(f'revisions {", ".join(map(repr, stranded))} are not reachable from the first '
                             'revision (their down_revisions form a loop)')
    return chain


def _head_of(start: Revision, children: dict[str | None, list[Revision]]) -> Revision:
    """The last revision of the branch that begins at `start` (first child where it forks again)."""
    current = start
    seen = {start.revision}
    while children.get(current.revision):
        current = children[current.revision][0]
        if current.revision in seen:
            break
        seen.add(current.revision)
    return current


def index_of(chain: list[Revision], revision: str) -> int:
    """The position of a revision id in the chain; MigrationError naming the known ids if absent."""
    for position, item in enumerate(chain):
        if item.revision == revision:
            return position
    known = ', '.join(item.revision for item in chain) or '(none)'
    raise MigrationError(f'unknown revision {revision!r}; the revisions are: {known}')
