"""activerecord's import graph: no loop, no import up a floor, no import inside a function.

The graph is read from the source with ast, nothing is imported, so an import under
`if TYPE_CHECKING:` counts like any other: a type-only loop is still a loop a reader has to
untangle, and a type-only import from a higher floor still couples a floor to one above it.
The floors are docs/architecture.md's, lowest first; a module may import from its own floor
or from a lower one, and a package's `__init__` sits on the floor of its package.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / 'activerecord'

#: the floors, lowest first, by the name under `activerecord.`; `activerecord/__init__.py` is
#: above them all
FLOORS = (
    ('errors', 'spatial', 'version'),
    ('backend',),
    ('query',),
    ('model',),
    ('relation',),
    ('mixins', 'cli', 'demo', '__main__', 'contrib', 'migrate'),
)
#: public modules that only re-export lower floors for users (`activerecord.types` is the
#: face of backend/types.py): on the top floor with `activerecord/__init__.py`, so no floor
#: of the package can come to depend on them
FACADES = ('types',)
#: modules a function may import when it needs them: drivers and integrations that are
#: optional extras, so importing them at the top would make them required
OPTIONAL_MODULES = frozenset({'pg8000', 'pymysql', 'oracledb', 'pytds', 'OpenSSL',
                              'cryptography', 'fastapi', 'starlette'})
#: definitions whose body runs later than the module: an import there is not module-level
DEFERRED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


@dataclass(frozen=True)
class Edge:
    """One imported module, where it is imported, and whether that runs at module load."""
    source: str
    target: str
    file: str
    line: int
    module_level: bool

    @property
    def where(self) -> str:
        """file:line of the import statement."""
        return f'{self.file}:{self.line}'


def module_name(path: Path, root: Path) -> str:
    """The dotted name of a source file under root (a package's `__init__` is the package)."""
    parts = list(path.relative_to(root.parent).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def import_statements(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement of a module, with whether it runs when the module loads."""
    def walk(node: ast.AST, deferred: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, not deferred
            else:
                yield from walk(child, deferred or isinstance(child, DEFERRED_SCOPES))
    return walk(tree, False)


def imported_names(statement: ast.Import | ast.ImportFrom, importer: str,
                   is_package: bool, modules: set[str]) -> list[str]:
    """The dotted modules a statement imports: `from p import m` names p.m when m is a module."""
    if isinstance(statement, ast.Import):
        return [alias.name for alias in statement.names]
    base = statement.module or ''
    if statement.level:
        package = importer.split('.') if is_package else importer.split('.')[:-1]
        package = package[:len(package) - statement.level + 1]
        base = '.'.join(package + ([statement.module] if statement.module else []))
    return [f'{base}.{alias.name}' if f'{base}.{alias.name}' in modules else base
            for alias in statement.names]


def read_edges(root: Path) -> list[Edge]:
    """Every import of every module under root, internal and external."""
    files = {module_name(path, root): path for path in sorted(root.rglob('*.py'))}
    modules = set(files)
    edges = []
    for importer, path in files.items():
        tree = ast.parse(path.read_text(encoding='utf-8'), str(path))
        shown = str(path.relative_to(root.parent))
        for statement, module_level in import_statements(tree):
            for name in imported_names(statement, importer, path.name == '__init__.py', modules):
                edges.append(Edge(importer, name, shown, statement.lineno, module_level))
    return edges


def internal(edges: list[Edge], root: Path) -> list[Edge]:
    """The module-level imports of one module of the package by another."""
    return [edge for edge in edges
            if edge.module_level and edge.target.split('.')[0] == root.name]


def floor_of(module: str) -> int | None:
    """The floor's index (the package itself is above every floor); None for no floor."""
    parts = module.split('.')
    if len(parts) == 1 or parts[1] in FACADES:
        return len(FLOORS)
    for index, names in enumerate(FLOORS):
        if parts[1] in names:
            return index
    return None


def cycles(edges: list[Edge], root: Path) -> list[str]:
    """One problem per loop: a strongly connected component of more than one module."""
    graph: dict[str, set[str]] = {}
    for edge in internal(edges, root):
        graph.setdefault(edge.source, set()).add(edge.target)
    problems = []
    for component in strongly_connected(graph):
        if len(component) < 2:
            continue
        inside = sorted((edge.where, edge.source, edge.target) for edge in internal(edges, root)
                        if edge.source in component and edge.target in component)
        problems.append(f'import loop (rule a) among {", ".join(sorted(component))}: '
                        + '; '.join(f'{where} {source} -> {target}'
                                    for where, source, target in inside))
    return problems


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components of a directed graph."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def upward_imports(edges: list[Edge], root: Path) -> list[str]:
    """One problem per import of a higher floor, and per module that has no floor."""
    problems = []
    for edge in internal(edges, root):
        source, target = floor_of(edge.source), floor_of(edge.target)
        for module, floor in ((edge.source, source), (edge.target, target)):
            if floor is None:
                problems.append(f'{edge.where}: {module} is on no floor (rule b): add it to '
                                f'FLOORS in tests/test_import_graph.py and docs/architecture.md')
        if source is not None and target is not None and target > source:
            problems.append(f'{edge.where}: {edge.source} imports {edge.target}, which is a '
                            f'higher floor (rule b: imports point down)')
    return sorted(set(problems))


def deferred_imports(edges: list[Edge]) -> list[str]:
    """One problem per import inside a function or class, except of an optional module."""
    return [f'{edge.where}: {edge.source} imports {edge.target} inside a function or class '
            f'(rule c: imports go at the top of the module)'
            for edge in edges
            if not edge.module_level and edge.target.split('.')[0] not in OPTIONAL_MODULES]


def problems_of(root: Path) -> dict[str, list[str]]:
    """Every breach of the three rules in the package at root, by rule."""
    edges = read_edges(root)
    return {'cycles': cycles(edges, root), 'upward': upward_imports(edges, root),
            'deferred': deferred_imports(edges)}


@pytest.fixture(scope='module')
def problems() -> dict[str, list[str]]:
    return problems_of(PACKAGE)


def test_no_import_loop(problems):
    assert not problems['cycles'], '\n'.join(problems['cycles'])


def test_every_import_points_down_a_floor(problems):
    assert not problems['upward'], '\n'.join(problems['upward'])


def test_no_import_inside_a_function(problems):
    assert not problems['deferred'], '\n'.join(problems['deferred'])


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """A package written from {relative path: source}; returns its directory."""
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root / 'activerecord'


CLEAN_TREE = {
    'activerecord/__init__.py': 'from .model.base import Model\nfrom . import errors\n',
    'activerecord/errors.py': 'import sys\n',
    'activerecord/query/__init__.py': 'from .builder import Builder\n',
    'activerecord/query/builder.py': 'from . import nodes\nfrom ..errors import Oops\n',
    'activerecord/query/nodes.py': 'from activerecord.backend.dialect import Dialect\n',
    'activerecord/backend/dialect.py': 'from activerecord import errors\n',
    'activerecord/model/__init__.py': '',
    'activerecord/model/base.py': ('from ..query import Builder\n\n'
                                   'def connect():\n    import pymysql\n'),
}


def test_the_checker_passes_a_clean_tree(tmp_path):
    assert problems_of(write_tree(tmp_path, CLEAN_TREE)) == {
        'cycles': [], 'upward': [], 'deferred': []}


def test_the_checker_finds_each_kind_of_breach(tmp_path):
    broken = dict(CLEAN_TREE)
    broken['activerecord/errors.py'] = 'from .query import builder\n'
    broken['activerecord/query/nodes.py'] = (
        'from typing import TYPE_CHECKING\n'
        'if TYPE_CHECKING:\n    from .builder import Builder\n')
    broken['activerecord/model/base.py'] = (
        'from ..query import Builder\n\nclass Model:\n'
        '    def save(self):\n        import json\n        from ..relation import eager\n')
    found = problems_of(write_tree(tmp_path, broken))

    assert len(found['cycles']) == 1
    assert 'activerecord.query.builder, activerecord.query.nodes' in found['cycles'][0]
    assert 'activerecord/query/nodes.py:3' in found['cycles'][0]
    assert found['upward'] == [
        'activerecord/errors.py:1: activerecord.errors imports activerecord.query.builder, '
        'which is a higher floor (rule b: imports point down)']
    assert [problem.split(' imports ')[0] for problem in found['deferred']] == [
        'activerecord/model/base.py:5: activerecord.model.base',
        'activerecord/model/base.py:6: activerecord.model.base']
    assert 'activerecord.relation inside a function' in found['deferred'][1]


def test_a_module_without_a_floor_is_named(tmp_path):
    tree = dict(CLEAN_TREE, **{'activerecord/extras.py': 'from . import errors\n'})
    found = problems_of(write_tree(tmp_path, tree))
    assert found['upward'] == [
        'activerecord/extras.py:1: activerecord.extras is on no floor (rule b): add it to '
        'FLOORS in tests/test_import_graph.py and docs/architecture.md']
