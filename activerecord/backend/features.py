"""Named capability flags: generic code asks a flag, never a database's name."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from ..errors import NotSupportedError
from .transaction import IsolationLevel


@dataclass(frozen=True)
class Features:
    """What one database (and server version) can do. Dialects override the defaults."""

    # how generated keys come back after INSERT
    generated_keys: Literal['returning', 'output_inserted', 'lastrowid', 'returning_into'] = 'returning'
    returning: bool = True                # INSERT/UPDATE/DELETE ... RETURNING
    multi_row_insert: bool = True         # INSERT ... VALUES (...), (...)
    upsert: Literal['on_conflict', 'on_duplicate_key', 'merge'] = 'on_conflict'
    savepoints: bool = True
    # RELEASE SAVEPOINT exists (Oracle and SQL Server have none): the docs name this flag; the
    # dialect's release_template is None exactly where it is False
    release_savepoint: bool = True
    transactional_ddl: bool = False
    alter_add_foreign_key: bool = True    # ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY
    for_update: bool = True
    for_update_nowait: bool = False
    for_update_skip_locked: bool = False
    ilike: bool = False                   # native ILIKE operator
    window_functions: bool = True
    cte: bool = True
    recursive_cte: bool = True
    intersect: bool = True
    except_: bool = True
    right_join: bool = True
    full_join: bool = False
    json: bool = True
    json_operators: bool = False          # PostgreSQL ->, ->>, @>, ? on JSONB
    arrays: bool = False
    fulltext: bool = False
    spatial: bool = False
    question_mark_operators: bool = False  # `?` is also an operator in raw SQL (JSONB)
    read_only_transactions: bool = True
    explain: bool = True
    max_parameters: int = 32766           # bound parameters one statement may carry
    # the server (or its protocol) refuses a statement with more than max_parameters: checked
    # before sending, so that the statement fails alone and the connection is kept
    max_parameters_enforced: bool = True
    max_in_list: int = 10000              # values one IN (...) list may carry
    # parameters a bulk INSERT/upsert statement carries by default (None: up to max_parameters);
    # set where the database parses a huge statement slower than several cached ones
    bulk_parameters: int | None = None
    # insert_many (no keys asked back, no batch_size) streams a group of at least this many rows
    # through the backend's copy_rows (PostgreSQL: COPY ... FROM STDIN); None: never
    copy_min_rows: int | None = None
    isolation_levels: frozenset[IsolationLevel] = frozenset()

    def require(self, flag: str, backend_name: str) -> None:
        """Raise NotSupportedError naming the backend and the feature unless `flag` is on."""
        value = getattr(self, flag)
        if value is False or value is None:
            raise NotSupportedError(f'{backend_name} does not support {flag.rstrip("_")}')

    def with_(self, **changes: Any) -> 'Features':
        """A copy with some flags changed (used for server-version differences)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """Every flag and its value (for `activerecord check`)."""
        return {item.name: (sorted(level.value for level in getattr(self, item.name))
                            if item.name == 'isolation_levels' else getattr(self, item.name))
                for item in fields(self)}
