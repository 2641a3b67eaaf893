"""Golden SQL per dialect: the constructs in cases.py and their expected SQL in <dialect>.py.

To pin a new dialect, add it to DIALECTS below and write <name>.py with
`EXPECTED = {construct: (sql, params) or NotSupportedError}` (what it renders exactly like other
dialects may come from a table of shared.py, through shared.combine).
`python -m tests.query.golden.render <name>` prints what the dialect renders today as a starting
point: read every line against the database's manual before pasting it in (the file is the
specification, not a recording).
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

#: dialect module name -> (dialect class path, sqlglot dialect name)
DIALECTS: dict[str, tuple[str, str]] = {
    'sqlite': ('activerecord.backend.impl.sqlite.dialect:SQLiteDialect', 'sqlite'),
    'postgresql': ('activerecord.backend.impl.pgsql.dialect:PostgreSQLDialect', 'postgres'),
    'mysql': ('activerecord.backend.impl.mysql.dialect:MySQLDialect', 'mysql'),
    'oracle': ('activerecord.backend.impl.oracle.dialect:OracleDialect', 'oracle'),
    'mssql': ('activerecord.backend.impl.mssql.dialect:SQLServerDialect', 'tsql'),
}


def make_dialect(name: str) -> Any:
    """A fresh dialect instance (no server needed)."""
    module_name, class_name = DIALECTS[name][0].split(':')
    return getattr(importlib.import_module(module_name), class_name)()


def expected_for(name: str) -> dict[str, Any] | None:
    """The EXPECTED table of a dialect, or None when no file pins it yet."""
    try:
        module = importlib.import_module(f'{__name__}.{name}')
    except ModuleNotFoundError as error:
        if error.name == f'{__name__}.{name}':
            return None
        raise
    return module.EXPECTED
