"""Behind a transaction-mode pooler (pgbouncer `pool_mode=transaction`): refuse session state.

Such a pooler lends a server connection to a client for one transaction (an autocommit
statement is one) and then to any other client. Whatever a statement leaves on the *session*
(a `SET`, a named prepared statement, a `LISTEN`, a session advisory lock, a held cursor, a
temporary table) stays on that server connection: later statements of the same client may run
on another one and not see it, and other clients inherit it. With the option
`pooler='transaction'` such statements are refused before anything is sent, naming the reason;
inside a transaction too, since a session `SET` made there also outlives the COMMIT.

What is refused is data (`SESSION_STATE_RULES`), matched against the statement's SQL code only:
text inside string literals, quoted identifiers and comments never matches.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ...base import require_driver
from ...sql_lexer import CODE, IDENTIFIER, POSTGRESQL, segments

dbapi: Any = require_driver('pg8000.dbapi', 'pgsql', 'PostgreSQLBackend')

#: option `pooler`: what sits between activerecord and PostgreSQL ('session': a pooler that gives
#: each client its own server connection, which is the same as none)
POOLER_MODES = ('session', 'transaction')

_AFTER_COMMIT = 'pgbouncer lends the server connection to other clients after each transaction'
#: (pattern over one statement's code, upper case and squeezed to single spaces; why it cannot work)
SESSION_STATE_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(pattern), reason) for pattern, reason in (
    (r'^SET (?!LOCAL |TRANSACTION |CONSTRAINTS )',
     f'a session SET stays on the server connection and {_AFTER_COMMIT}, so it leaks to them while later '
     'statements of this client may not see it; use SET LOCAL inside a transaction, or set it for the '
     'role or database (ALTER ROLE ... SET)'),
    (r'^RESET ', f'RESET changes the session and {_AFTER_COMMIT}; use SET LOCAL inside a transaction'),
    (r'^(LISTEN|UNLISTEN) ',
     f'notifications go to the server connection, and {_AFTER_COMMIT}: LISTEN needs a direct connection'),
    (r'^PREPARE (?!TRANSACTION )',
     f'a named prepared statement lives on one server connection and {_AFTER_COMMIT}: EXECUTE may '
     'reach another one; send the statement with parameters instead (activerecord does, in one round trip)'),
    (r'^DECLARE .* WITH HOLD ',
     f'a WITH HOLD cursor outlives its transaction on the server connection, and {_AFTER_COMMIT}; '
     'read with iter_rows(), which declares its cursor inside a transaction'),
    (r'^CREATE (GLOBAL |LOCAL )?TEMP(ORARY)? (?!.* ON COMMIT DROP )',
     f'a temporary table lives on the server connection and {_AFTER_COMMIT}; create it with ON COMMIT '
     'DROP inside the transaction that uses it'),
    (r'\bPG_(TRY_)?ADVISORY_(UN)?LOCK(_SHARED|_ALL)? ?\(',
     f'a session-level advisory lock is held by the server connection, and {_AFTER_COMMIT}: the unlock '
     'may reach another one and leave the lock held; use pg_advisory_xact_lock inside a transaction '
     '(the migrator takes a session lock: run migrations on a direct connection to PostgreSQL)'),
    (r'\bSET_CONFIG ?\(.*, ?FALSE ?\)',
     f"set_config(..., false) changes the session and {_AFTER_COMMIT}; use set_config(..., true) inside "
     'a transaction'),
))


class SessionStateRefused(dbapi.NotSupportedError):  # type: ignore[misc]  # pg8000's error (no stubs)
    """A statement that leaves session state, refused before it was sent (the connection is fine)."""


def refuse_session_state(sql: str) -> None:
    """Raise SessionStateRefused when `sql` would leave state on a pooled server connection."""
    reason = session_state_reason(sql)
    if reason is not None:
        raise SessionStateRefused(f'refused behind a transaction-mode pooler (pooler=transaction): '
                                  f'{_shortened(sql)!r}: {reason}')


@lru_cache(maxsize=4096)
def session_state_reason(sql: str) -> str | None:
    """Why `sql` cannot run behind a transaction-mode pooler, or None when it can."""
    for statement in _code_statements(sql):
        for pattern, reason in SESSION_STATE_RULES:
            if pattern.search(statement):
                return reason
    return None


def _code_statements(sql: str) -> list[str]:
    """Each statement of `sql` as its code alone: upper case, one space between words, a trailing
    space; literals and comments blanked, quoted identifiers kept as a neutral word."""
    parts: list[str] = []
    for kind, text in segments(sql, POSTGRESQL):
        parts.append(text if kind == CODE else ' _ident_ ' if kind == IDENTIFIER else ' ')
    code = ''.join(parts).upper()
    return [' '.join(statement.split()) + ' ' for statement in code.split(';') if statement.strip()]


def _shortened(sql: str, limit: int = 80) -> str:
    flat = ' '.join(sql.split())
    return flat if len(flat) <= limit else flat[:limit - 3] + '...'
