"""Translation of the internal `?` placeholder to a driver's paramstyle, once per SQL text.

Every SQL string inside activerecord (generated or raw) uses `?`. The driver wants its own
style. The dialect's lexical rules (sql_lexer.py) find the string literals, quoted identifiers
and comments exactly where its server does; in the code between them, tokenizing with sqlparse
tells a real placeholder from (on PostgreSQL) a JSONB operator. Tokenizing is slow, so each
(sql, style, rules) shape is translated once and cached.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, NamedTuple, Sequence

from sqlparse import tokens as sqlparse_tokens
from sqlparse.lexer import Lexer as SqlparseLexer

from ..errors import ProgrammingError
from .sql_lexer import CODE, COMMENT, IDENTIFIER, LITERAL, MARKER, STANDARD, LexicalRules, segments

# sqlparse ships py.typed but leaves its token types and lexer unannotated: explicit Any handles
T: Any = sqlparse_tokens
Lexer: Any = SqlparseLexer

# Token types after which a `?` is an operand position's *operator* (PostgreSQL `jsonb ? key`).
_OPERAND_TYPES = (T.Name, T.Literal, T.Keyword.Type)


class Translated(NamedTuple):
    """A statement in the driver's paramstyle and the number of placeholders it has."""
    sql: str
    placeholder_count: int
    style: str

    def bind(self, params: Sequence[Any]) -> Any:
        """Check the parameter count and shape the parameters as the paramstyle wants."""
        if len(params) != self.placeholder_count:
            raise ProgrammingError(
                f'the SQL has {self.placeholder_count} `?` placeholder(s) but {len(params)} '
                f'parameter(s) were given: {self.sql[:200]}')
        if self.style in _NAMED_STYLES:
            return {f'p{index}': value for index, value in enumerate(params, 1)}
        return params


#: paramstyle -> the driver's text for placeholder number {0} (1-based)
_PLACEHOLDERS: dict[str, str] = {
    'qmark': '?', 'format': '%s', 'pyformat': '%(p{0})s', 'named': ':p{0}', 'numeric': ':{0}', 'dollar': '${0}',
}
PARAMSTYLES = tuple(_PLACEHOLDERS)
#: paramstyles whose parameters are a dict keyed p1, p2, ...
_NAMED_STYLES = frozenset({'pyformat', 'named'})
NAMED_PARAMSTYLES = _NAMED_STYLES


def _replacement(style: str, index: int) -> str:
    try:
        return _PLACEHOLDERS[style].format(index)
    except KeyError:
        raise ProgrammingError(f'unknown paramstyle {style!r}; expected one of {", ".join(PARAMSTYLES)}') from None


# A shared parameter (SQLContext.shared_param): `?/*same -N*/` binds nothing new and stands for
# the parameter N places before the next one bound, written with that one's number. Relative, so
# it stays right when the SQL is nested after other parameters; a comment, so the SQL still reads.
_SHARED_OPEN = '?/*same -'
_SHARED = re.compile(r'\?/\*same -([1-9][0-9]*)\*/')
#: paramstyles that can write one parameter in several places
_NUMBERED_STYLES = frozenset({'numeric', 'dollar', 'named', 'pyformat'})


def shared_reference(back: int) -> str:
    """The internal text of a placeholder for the parameter `back` places before the next one."""
    return f'{_SHARED_OPEN}{back}*/'


def _translate_shared(sql: str, style: str, question_mark_operators: bool,
                      rules: LexicalRules) -> Translated:
    """Translate SQL that refers to a parameter again: each reference gets that parameter's number."""
    if style not in _NUMBERED_STYLES:
        raise ProgrammingError(f'this SQL refers to a parameter twice (`{_SHARED_OPEN}N*/`), which the {style} '
                               f'paramstyle cannot write: it was rendered for another database: {sql[:200]}')
    # the references read as plain `?` to the lexer; `backs` remembers where they were
    plain: list[str] = []
    backs: dict[int, int] = {}   # offset of a reference's `?` in the plain SQL -> N
    length = last = 0
    for match in _SHARED.finditer(sql):
        piece = sql[last:match.start() + 1]  # up to and with the `?`
        plain.append(piece)
        length += len(piece)
        backs[length - 1] = int(match.group(1))
        last = match.end()
    plain.append(sql[last:])
    text = ''.join(plain)
    # where the `?` that are placeholders are in `text`
    offsets = _translate_pieces(list(segments(text, rules)), 'qmark', question_mark_operators, rules)[1]
    out: list[str] = []
    count = start = 0
    for offset in offsets:
        between = text[start:offset]
        out.append(between.replace('%', '%%') if style == 'pyformat' else between)
        back = backs.pop(offset, None)
        if back is None:
            count += 1
            out.append(_replacement(style, count))
        elif back > count:
            backs[offset] = back   # before the first parameter: reported below
            break
        else:
            out.append(_replacement(style, count - back + 1))
        start = offset + 1
    if backs:   # in a literal or comment, or out of range: not text shared_reference() wrote
        raise ProgrammingError(f'a `{_SHARED_OPEN}N*/` reference that names no earlier parameter: {sql[:200]}')
    rest = text[start:]
    out.append(rest.replace('%', '%%') if style == 'pyformat' else rest)
    return Translated(''.join(out), count, style)


# Once quoted identifiers ("x", `x`, [x]: whichever the dialect has) are set aside, SQL without
# quotes, comments, dollar quoting or `#` has no literal that could hide a `?`, and without a
# `?word` no named placeholder: such SQL (generated multi-row VALUES and long IN lists, which may
# be megabytes long) is translated without the lexer.
_NEEDS_LEXER = re.compile(r"""['"`\[\]$#]|--|/\*|\?\w""")
# A `?` in an operand position, which can only be a placeholder: after ( or , and before , or ).
_OPERAND_MARK = re.compile(r'[(,]\s*\?(?=\s*[,)])')
# What the tokenizer sees instead of each piece the dialect's lexer set aside: a literal, an
# identifier, or nothing, so that its reading of the code around them is unchanged.
_MASKS = {LITERAL: "'m'", IDENTIFIER: '"m"', COMMENT: ' ', MARKER: ' '}


def _translate_plain(sql: str, style: str, question_mark_operators: bool,
                     rules: LexicalRules) -> Translated | None:
    """The lexer-free path for SQL with no literal or comment; None when the lexer is needed."""
    identifiers = rules.quoted_identifier
    if any('?' in name for name in identifiers.findall(sql)):
        return None
    outside = identifiers.sub(' x ', sql)
    if _NEEDS_LEXER.search(outside) or (style in ('format', 'pyformat') and '%' in outside):
        return None  # a literal, a comment or an unbalanced quote: let the lexer decide
    count = outside.count('?')
    if question_mark_operators and len(_OPERAND_MARK.findall(outside)) != count:
        return None  # some `?` may be a JSONB operator: let the lexer decide
    if style == 'qmark':
        return Translated(sql, count, style)
    parts = sql.split('?')  # no identifier holds a `?`, so every one is a placeholder
    out = [parts[0]]
    for index, part in enumerate(parts[1:], 1):
        out.extend((_replacement(style, index), part))
    return Translated(''.join(out), count, style)


@lru_cache(maxsize=8192)
def translate(sql: str, style: str, question_mark_operators: bool = False,
              rules: LexicalRules = STANDARD) -> Translated:
    """Translate `?` placeholders of `sql` into `style`, reading literals and comments by `rules`; cached.

    Where a session setting can change the reading (`rules.readings`: MySQL's sql_mode), every
    reading must find the same placeholders, or the SQL is refused before sending.
    """
    percent_escapes = style in ('format', 'pyformat')
    if '?' not in sql:
        _replacement(style, 1)  # still reject an unknown style
        return Translated(sql.replace('%', '%%') if percent_escapes else sql, 0, style)
    if _SHARED_OPEN in sql:   # only SQL with a repeated constant pays for this
        return _translate_shared(sql, style, question_mark_operators, rules)
    plain = _translate_plain(sql, style, question_mark_operators, rules)
    if plain is not None:
        return plain
    readings = rules.readings
    if len(readings) == 1:
        return _translate_pieces(list(segments(sql, rules)), style, question_mark_operators, rules)[0]
    return _translate_agreed(sql, style, question_mark_operators, readings)


def _translate_agreed(sql: str, style: str, question_mark_operators: bool,
                      readings: tuple[LexicalRules, ...]) -> Translated:
    """Translate where every session reading finds the same placeholders; refuse it otherwise.

    A session may change how the server reads literals without the backend knowing (MySQL's
    sql_mode set by init_command or a raw SET). If one reading puts a `?` in a literal and another
    in code, binding a value where the server sees code would let the value out of its literal.
    """
    results: dict[tuple[tuple[str, str], ...], tuple[Translated, tuple[int, ...]]] = {}
    failures: list[ProgrammingError] = []
    for reading in readings:
        try:
            pieces = tuple(segments(sql, reading))
        except ProgrammingError as error:
            failures.append(error)
            continue
        if pieces not in results:  # the same pieces translate the same: tokenize each reading once
            results[pieces] = _translate_pieces(pieces, style, question_mark_operators, reading)
    if failures and not results:
        raise failures[0]  # unterminated however the session reads it
    if failures:
        raise ProgrammingError(
            f'{failures[0]} in one of the ways a {readings[0].name} session may read it (sql_mode '
            f'NO_BACKSLASH_ESCAPES / ANSI_QUOTES) but not in another: write the literal so that every '
            f'mode reads it alike (no backslash before a quote; a doubled quote instead) or pass the '
            f'value as a parameter') from None
    answers = {positions for _, positions in results.values()}
    if len(answers) > 1:
        raise ProgrammingError(
            f'the `?` placeholders of this SQL depend on the session sql_mode (a backslash or a double '
            f'quote read differently with NO_BACKSLASH_ESCAPES / ANSI_QUOTES), so a bound value could '
            f'land where the server reads code: write the literal so that every mode reads it alike '
            f'(no backslash before a quote; a doubled quote instead) or pass it as a parameter: {sql[:200]}')
    return next(iter(results.values()))[0]


def _translate_pieces(pieces: Sequence[tuple[str, str]], style: str, question_mark_operators: bool,
                      rules: LexicalRules) -> tuple[Translated, tuple[int, ...]]:
    """The translation of the lexed SQL and the offsets in it of the `?` that are placeholders."""
    percent_escapes = style in ('format', 'pyformat')
    masked = ''.join(_MASKS.get(kind) or _tokenizer_code(text, rules) for kind, text in pieces)
    decisions = iter(_placeholder_decisions(masked, question_mark_operators))
    out: list[str] = []
    positions: list[int] = []
    offset = 0
    for kind, text in pieces:
        parts = text.split('?') if kind == CODE else [text]
        at = offset  # where the next `?` is in `sql`
        offset += len(text)
        for index, part in enumerate(parts):
            if index:
                if next(decisions):
                    positions.append(at)
                    out.append(_replacement(style, len(positions)))
                else:
                    out.append('?')
                at += 1
            at += len(part)
            out.append(part.replace('%', '%%') if percent_escapes else part)
    return Translated(''.join(out), len(positions), style), tuple(positions)


def _tokenizer_code(code: str, rules: LexicalRules) -> str:
    """Code as the generic tokenizer must see it: no comment starts the dialect does not have."""
    if '#' in code:
        code = code.replace('#', '+')   # an operator here (PostgreSQL `#>`), never a comment
    if '--' in code:
        code = code.replace('--', '- -')  # MySQL: `--` without a space is two minus signs
    return code


def _placeholder_decisions(masked: str, question_mark_operators: bool) -> list[bool]:
    """For each `?` in the code, in order: whether it is a placeholder (not an operator or `?name`)."""
    decisions: list[bool] = []
    previous: tuple[Any, str] | None = None  # the previous significant token
    tokens = list(Lexer.get_default_instance().get_tokens(masked))
    for position, (ttype, value) in enumerate(tokens):
        if ttype in T.Name.Placeholder and value == '?':
            following = tokens[position + 1][1] if position + 1 < len(tokens) else ''
            is_operator = question_mark_operators and (
                following in ('|', '&')
                or (previous is not None and (
                    any(previous[0] in kind for kind in _OPERAND_TYPES) or previous[1] in (')', ']'))))
            decisions.append(not is_operator)
            # A bound placeholder is an operand: a `?` right after it is an operator.
            previous = (T.Operator, value) if is_operator else (T.Name, value)
            continue
        decisions.extend([False] * value.count('?'))
        if ttype not in T.Whitespace and ttype not in T.Newline and ttype not in T.Comment:
            if previous is not None and previous[1] == '::' and ttype in T.Keyword:
                previous = (T.Name, value)  # a type after a cast (`x::jsonb ? 'k'`) is an operand
            else:
                previous = (ttype, value)
    return decisions


def count_placeholders(sql: str, rules: LexicalRules = STANDARD) -> int:
    """How many real `?` placeholders a (raw) SQL fragment has."""
    return translate(sql, 'numeric', False, rules).placeholder_count
