"""Where string literals, quoted identifiers and comments begin and end, as each server reads them.

The placeholder translator must agree with the server about what is SQL code: a `?` inside a
literal or a comment is text, a `?` outside is a parameter. The servers disagree with each other
(MySQL lets a backslash escape the closing quote and starts comments with `#`; PostgreSQL nests
block comments and has dollar-quoted and E'...' strings; Oracle has q'[...]'; SQL Server quotes
identifiers in brackets), so the reading is driven by one `LexicalRules` entry per dialect.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cached_property
from itertools import product
from typing import Any, Iterator, NoReturn

from ..errors import ProgrammingError

#: segment kinds; a MARKER is code the server runs that looks like a comment (`/*!50100`, `*/`)
CODE, LITERAL, IDENTIFIER, COMMENT, MARKER = 'code', 'literal', 'identifier', 'comment', 'marker'


@dataclass(frozen=True, eq=False)  # eq=False: hashed by identity, a cheap cache key
class LexicalRules:
    """How one database (in one session mode) reads literals, identifiers and comments."""

    name: str
    #: characters that open a string literal (closed by the same character, doubled inside)
    string_quotes: str = "'"
    #: a backslash escapes the next character inside every string literal (MySQL by default)
    backslash_escapes: bool = False
    #: (opening, closing) of quoted identifiers; the closing character doubled stands for itself
    identifier_quotes: tuple[tuple[str, str], ...] = (('"', '"'),)
    #: `#` starts a comment up to the end of the line (MySQL)
    hash_comments: bool = False
    #: `--` starts a comment only when followed by whitespace or a control character (MySQL)
    dash_comment_needs_space: bool = False
    #: block comments nest: /* /* */ */ (PostgreSQL)
    nested_comments: bool = False
    #: /*! ... */ and /*M! ... */ hold SQL the server runs (MySQL/MariaDB version comments)
    executable_comments: bool = False
    #: E'...' strings take backslash escapes; $tag$...$tag$ strings (PostgreSQL)
    escape_strings: bool = False
    dollar_quotes: bool = False
    #: q'[...]', q'{...}', q'<...>', q'(...)', q'!...!' strings (Oracle)
    q_quotes: bool = False
    #: settings a session can change behind the backend's back (MySQL's sql_mode, through
    #: init_command or a raw SET): per setting, the alternative (field, value) overrides. The
    #: translator reads the SQL under every combination, so no session mode can make it and the
    #: server disagree about where a literal ends.
    session_alternatives: tuple[tuple[tuple[tuple[str, Any], ...], ...], ...] = ()

    @cached_property
    def readings(self) -> tuple['LexicalRules', ...]:
        """Every way a session of this database may read literals: just this one for most."""
        if not self.session_alternatives:
            return (self,)
        return tuple(replace(self, session_alternatives=(), **dict(pair for option in choice for pair in option))
                     for choice in product(*self.session_alternatives))

    def with_backslash_escapes(self, enabled: bool) -> 'LexicalRules':
        """A copy for a session whose sql_mode turns backslash escapes on or off."""
        return replace(self, backslash_escapes=enabled)

    @cached_property
    def starts(self) -> re.Pattern[str]:
        """The characters at which something other than plain code may begin."""
        return _starts(self)

    @cached_property
    def quoted_identifier(self) -> re.Pattern[str]:
        """A whole quoted identifier of this dialect, in every reading (`readings`) of it."""
        quotes = [opening for opening, closing in self.identifier_quotes
                  if all((opening, closing) in reading.identifier_quotes for reading in self.readings)]
        return re.compile('|'.join(_IDENTIFIER_BODIES[opening] for opening in quotes) or '(?!)')


STANDARD = LexicalRules('standard')
SQLITE = LexicalRules('sqlite', identifier_quotes=(('"', '"'), ('`', '`'), ('[', ']')))
POSTGRESQL = LexicalRules('postgresql', nested_comments=True, escape_strings=True, dollar_quotes=True)
#: MySQL/MariaDB sql_mode flags that move where a literal ends: NO_BACKSLASH_ESCAPES, ANSI_QUOTES
_MYSQL_SESSION = (
    ((('backslash_escapes', True),), (('backslash_escapes', False),)),
    ((('string_quotes', '\'"'), ('identifier_quotes', (('`', '`'),))),
     (('string_quotes', "'"), ('identifier_quotes', (('`', '`'), ('"', '"'))))),
)
#: MySQL/MariaDB with the default sql_mode: "..." is a string, backslashes escape
MYSQL = LexicalRules('mysql', string_quotes='\'"', backslash_escapes=True, identifier_quotes=(('`', '`'),),
                     hash_comments=True, dash_comment_needs_space=True, executable_comments=True,
                     session_alternatives=_MYSQL_SESSION)
#: sql_mode ANSI_QUOTES (or ANSI): "..." is an identifier
MYSQL_ANSI_QUOTES = replace(MYSQL, string_quotes="'", identifier_quotes=(('`', '`'), ('"', '"')))
ORACLE = LexicalRules('oracle', q_quotes=True)
SQLSERVER = LexicalRules('mssql', identifier_quotes=(('"', '"'), ('[', ']')))

_Q_CLOSERS = {'[': ']', '{': '}', '<': '>', '(': ')'}
_IDENTIFIER_BODIES = {'"': r'"(?:[^"]|"")*"', '`': r'`(?:[^`]|``)*`', '[': r'\[[^\]]*\]'}
_DOLLAR_TAG = re.compile(r'\$([A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)?\$')
_EXECUTABLE_OPENER = re.compile(r'/\*M?!\d*')


def _starts(rules: LexicalRules) -> re.Pattern[str]:
    """Where something other than plain code may begin (each candidate is then read exactly)."""
    chars = set(rules.string_quotes) | {opening for opening, _ in rules.identifier_quotes}
    chars.update(char for char, on in (('#', rules.hash_comments), ('$', rules.dollar_quotes)) if on)
    optional = (("[Ee](?=')", rules.escape_strings), ("[qQ](?=')", rules.q_quotes), (r'\*/', rules.executable_comments))
    alternatives = ['[' + re.escape(''.join(sorted(chars))) + ']', '--', r'/\*'] + [text for text, on in optional if on]
    return re.compile('|'.join(alternatives))


def segments(sql: str, rules: LexicalRules) -> Iterator[tuple[str, str]]:
    """(kind, text) pieces of `sql` in order; raises ProgrammingError for an unterminated one."""
    starts = rules.starts
    length = len(sql)
    code_start = position = 0
    open_executable = 0  # MySQL /*! ... */ blocks open around the current position
    while True:
        match = starts.search(sql, position)
        if match is None:
            break
        position = match.start()
        piece = _piece_at(sql, position, rules, open_executable)
        if piece is None:
            position += 1
            continue
        kind, end = piece
        if kind == 'open_executable':
            open_executable += 1
        elif kind == 'close_executable':
            open_executable -= 1
        if position > code_start:
            yield CODE, sql[code_start:position]
        yield (MARKER if kind.endswith('_executable') else kind), sql[position:end]
        code_start = position = end
        if position >= length:
            break
    if code_start < length:
        yield CODE, sql[code_start:]


def _piece_at(sql: str, i: int, rules: LexicalRules, open_executable: int) -> tuple[str, int] | None:
    """(kind, end) of the literal, identifier or comment starting at i, or None for plain code."""
    char = sql[i]
    following = sql[i + 1:i + 2]
    previous_is_word = i > 0 and (sql[i - 1].isalnum() or sql[i - 1] in '_$')
    if char == '-':
        if following != '-':
            return None
        after = sql[i + 2:i + 3]
        if rules.dash_comment_needs_space and after and not (after.isspace() or ord(after) < 32):
            return None
        return COMMENT, _line_end(sql, i)
    if char == '#':
        return COMMENT, _line_end(sql, i)
    if char == '/':
        if following != '*':
            return None
        if rules.executable_comments:
            opener = _EXECUTABLE_OPENER.match(sql, i)
            if opener:
                return 'open_executable', opener.end()
        return COMMENT, _block_comment_end(sql, i, rules.nested_comments)
    if char == '*':
        if open_executable and following == '/':
            return 'close_executable', i + 2
        return None
    if char in rules.string_quotes:
        return LITERAL, _quoted_end(sql, i + 1, char, rules.backslash_escapes, 'string literal')
    for opening, closing in rules.identifier_quotes:
        if char == opening:
            return IDENTIFIER, _quoted_end(sql, i + 1, closing, False, 'quoted identifier')
    if char in 'Ee' and rules.escape_strings and following == "'" and not previous_is_word:
        return LITERAL, _quoted_end(sql, i + 2, "'", True, 'string literal')
    if char in 'qQ' and rules.q_quotes and following == "'" and (not previous_is_word or _national(sql, i - 1)):
        return LITERAL, _q_quote_end(sql, i + 2)
    if char == '$' and rules.dollar_quotes and not previous_is_word:
        tag = _DOLLAR_TAG.match(sql, i)
        if tag is None:
            return None
        end = sql.find(tag.group(0), tag.end())
        if end < 0:
            _unterminated('dollar-quoted string', sql, i)
        return LITERAL, end + len(tag.group(0))
    return None


def _national(sql: str, i: int) -> bool:
    """Whether sql[i] is the N of Oracle's nq'[...]' (an N that starts a word)."""
    return sql[i] in 'nN' and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] in '_$'))


def _line_end(sql: str, i: int) -> int:
    end = sql.find('\n', i)
    return len(sql) if end < 0 else end


def _block_comment_end(sql: str, i: int, nested: bool) -> int:
    depth = 1
    position = i + 2
    while True:
        close = sql.find('*/', position)
        if close < 0:
            _unterminated('comment', sql, i)
        if nested:
            opening = sql.find('/*', position)
            if 0 <= opening < close:
                depth += 1
                position = opening + 2
                continue
        depth -= 1
        position = close + 2
        if depth == 0:
            return position


_BODY_PATTERNS: dict[tuple[str, bool], re.Pattern[str]] = {}


def _quoted_end(sql: str, i: int, closing: str, backslash_escapes: bool, what: str) -> int:
    """End of a quoted piece whose body starts at i: a doubled `closing` (and, if set, \\x) escapes."""
    pattern = _BODY_PATTERNS.get((closing, backslash_escapes))
    if pattern is None:
        quote = re.escape(closing)
        body = (rf'(?:[^{quote}\\]|\\.|{quote}{quote})*{quote}' if backslash_escapes
                else rf'(?:[^{quote}]|{quote}{quote})*{quote}')
        pattern = _BODY_PATTERNS[(closing, backslash_escapes)] = re.compile(body, re.DOTALL)
    match = pattern.match(sql, i)
    if match is None:
        _unterminated(what, sql, i - 1)
    return match.end()


def _q_quote_end(sql: str, i: int) -> int:
    """End of Oracle's q'X...X' whose delimiter X is at i."""
    if i >= len(sql):
        _unterminated('string literal', sql, i - 2)
    delimiter = _Q_CLOSERS.get(sql[i], sql[i])
    end = sql.find(delimiter + "'", i + 1)
    if end < 0:
        _unterminated('string literal', sql, i - 2)
    return end + 2


def _unterminated(what: str, sql: str, start: int) -> NoReturn:
    raise ProgrammingError(f'unterminated {what} at character {start + 1} of the SQL (it never ends, so '
                           f'the server would read the rest of the statement as part of it): '
                           f'{sql[max(0, start - 40):start + 60]!r}')
