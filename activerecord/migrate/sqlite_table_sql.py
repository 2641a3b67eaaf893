"""What SQLite's PRAGMAs do not say about a table, read from its own CREATE TABLE text.

The table rebuild (sqlite_rebuild.py) reads a table through PRAGMAs, which leave out a column's
COLLATE, a foreign key's DEFERRABLE clause and the table options (WITHOUT ROWID, STRICT). Those
change what the table does (a NOCASE unique column, a foreign key checked at COMMIT), so they are
read here from the text sqlite_master keeps, to be written again by the rebuild. A clause the
rebuild cannot restate (ON CONFLICT) is reported, so that the rebuild refuses instead of losing it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"""
    (?P<skip>\s+|--[^\n]*(?:\n|$)|/\*.*?(?:\*/|$))
  | (?P<token>"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]|'(?:[^']|'')*'|[(),]|[^\s(),"`'\[]+?(?=[\s(),"`'\[]|$))
""", re.VERBOSE | re.DOTALL)

#: words that start a table constraint rather than a column definition
_TABLE_CONSTRAINTS = frozenset({'CONSTRAINT', 'PRIMARY', 'UNIQUE', 'CHECK', 'FOREIGN'})
#: the table options a rebuild restates as they are
_OPTION_WORDS = frozenset({'WITHOUT', 'ROWID', 'STRICT', ','})


@dataclass
class TableText:
    """The parts of a CREATE TABLE the rebuild keeps that PRAGMAs do not report."""

    #: column name (lower case) -> its collation name
    collations: dict[str, str] = field(default_factory=dict[str, str])
    #: a foreign key's columns (lower case) -> its DEFERRABLE clause ('DEFERRABLE INITIALLY DEFERRED')
    deferrable: dict[tuple[str, ...], str] = field(default_factory=dict[tuple[str, ...], str])
    #: the text after the column list ('WITHOUT ROWID', 'STRICT', ...), '' when none
    options: str = ''
    #: clauses a rebuild would lose, each naming where it is
    unsupported: list[str] = field(default_factory=list[str])


def tokens(sql: str) -> list[str]:
    """The SQL's tokens: identifiers and literals whole (quotes kept), comments and spaces dropped."""
    return [match.group('token') for match in _TOKEN.finditer(sql) if match.group('token') is not None]


def unquote(token: str) -> str:
    """An identifier's name: "a""b" -> a"b, `a` -> a, [a] -> a, 'a' -> a, a -> a."""
    if len(token) >= 2 and token[0] in '"`\'' and token[-1] == token[0]:
        return token[1:-1].replace(token[0] * 2, token[0])
    if len(token) >= 2 and token[0] == '[' and token[-1] == ']':
        return token[1:-1]
    return token


def _items(body: list[str]) -> list[list[str]]:
    """The column list's items (split at the commas outside parentheses)."""
    items: list[list[str]] = [[]]
    depth = 0
    for token in body:
        if token == ',' and depth == 0:
            items.append([])
            continue
        depth += (token == '(') - (token == ')')
        items[-1].append(token)
    return [item for item in items if item]


def _words(item: list[str]) -> list[str]:
    """The item's tokens upper-cased where they are bare words (quoted names stay as they are)."""
    return [token.upper() if token[:1] not in '"`\'[' else token for token in item]


def _deferrable(item: list[str], words: list[str], start: int) -> str:
    """The [NOT] DEFERRABLE [INITIALLY DEFERRED|IMMEDIATE] clause after `start`, as written ('' when none)."""
    for position in range(start, len(words)):
        if words[position] == 'DEFERRABLE':
            first = position - 1 if position > start and words[position - 1] == 'NOT' else position
            end = position + 3 if words[position + 1:position + 2] == ['INITIALLY'] else position + 1
            return ' '.join(words[first:end])
    return ''


def _group(item: list[str], start: int) -> tuple[list[str], int]:
    """The names inside the parentheses opening at item[start], and the position after them."""
    names: list[str] = []
    position = start + 1
    while position < len(item) and item[position] != ')':
        if item[position] != ',':
            names.append(unquote(item[position]).lower())
        position += 1
    return names, position + 1


def parse_create_table(sql: str) -> TableText:
    """Read collations, DEFERRABLE clauses and table options from a table's CREATE TABLE text."""
    found = TableText()
    parts = tokens(sql)
    if '(' not in parts:
        return found
    start = parts.index('(')
    depth, end = 0, len(parts)
    for position in range(start, len(parts)):
        depth += (parts[position] == '(') - (parts[position] == ')')
        if depth == 0:
            end = position
            break
    tail = parts[end + 1:]
    if any(token.upper() not in _OPTION_WORDS for token in tail):
        found.unsupported.append(f'the table options {" ".join(tail)!r}')
    found.options = ' '.join(tail).replace(' ,', ',')
    for item in _items(parts[start + 1:end]):
        words = _words(item)
        if 'CONFLICT' in words:
            where = 'a table constraint' if words[0] in _TABLE_CONSTRAINTS else f'column {unquote(item[0])!r}'
            found.unsupported.append(f'the ON CONFLICT clause of {where}')
        if words[0] in _TABLE_CONSTRAINTS:
            if 'FOREIGN' in words and words.index('FOREIGN') + 2 < len(item):
                opening = words.index('FOREIGN') + 2   # FOREIGN KEY (
                columns, after = _group(item, opening)
                clause = _deferrable(item, words, after)
                if clause:
                    found.deferrable[tuple(columns)] = clause
            continue
        name = unquote(item[0]).lower()
        if 'COLLATE' in words[1:]:
            position = words.index('COLLATE', 1)
            if position + 1 < len(item):
                found.collations[name] = unquote(item[position + 1])
        if 'REFERENCES' in words[1:]:
            clause = _deferrable(item, words, words.index('REFERENCES', 1))
            if clause:
                found.deferrable[(name,)] = clause
    return found


__all__ = ['TableText', 'parse_create_table', 'tokens', 'unquote']
