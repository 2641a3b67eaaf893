"""A migration step: one statement (or Python callable) with what it costs on a live database."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal


@dataclass(frozen=True)
class Step:
    """One thing a migration does, rendered for one backend.

    `kind` 'sql': `sql` with `params` (internal `?` placeholders). `kind` 'python': `fn(backend)`
    runs a data step, and `sql` describes it (printed by offline output as a comment).
    `rewrites_table` / `blocks_writes` say what the step costs on this database (shown by `migrate
    status` and `migrate sql`). `outside_transaction`: the step cannot run inside the migration's
    transaction (PostgreSQL CREATE INDEX CONCURRENTLY, SQLite PRAGMA foreign_keys): the migrator
    commits what is open, runs it on the same connection, and opens a new transaction for what follows.
    """

    sql: str
    params: tuple[Any, ...] = ()
    kind: Literal['sql', 'python'] = 'sql'
    rewrites_table: bool = False
    blocks_writes: bool = False
    outside_transaction: bool = False
    fn: Callable[[Any], None] | None = None
    #: the operation that emitted it ('add_column', 'rebuild', ...)
    operation: str = ''


__all__ = ['Step']
