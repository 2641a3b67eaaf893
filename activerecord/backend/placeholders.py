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

from sqlparse import tokens as T
from sqlparse.lexer import Lexer

from ..errors import ProgrammingError
from .sql_lexer import CODE, COMMENT, IDENTIFIER, LITERAL, MARKER, STANDARD, LexicalRules, segments

PARAMSTYLES = ('qmark', 'format', 'pyformat', 'named', 'numeric', 'dollar')

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
        if self.style == 'named':
            return {f'p{index}': value for index, value in enumerate(params, 1)}
        if self.style == 'pyformat':
            return {f'p{index}': value for index, value in enumerate(params, 1)}
        return params


def _replacement(style: str, index: int) -> str:
    if style == 'qmark':
        return '?'
    if style == 'format':
        return '%s'
    if style == 'pyformat':
        return f'%(p{index})s'
    if style == 'named':
        return f':p{index}'
    if style == 'numeric':
        return f':{index}'
    if style == 'dollar':
        return f'${index}'
    raise ProgrammingError(f'unknown paramstyle {style!r}; expected one of {", ".join(PARAMSTYLES)}')


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
        out.append(_replacement(style, index))
        out.append(part)
    return Translated(''.join(out), count, style)


@lru_cache(maxsize=8192)
def translate(sql: str, style: str, question_mark_operators: bool = False,
              rules: LexicalRules = STANDARD) -> Translated:
    """Translate `?` placeholders of `sql` into `style`, reading literals and comments by `rules`; cached."""
    percent_escapes = style in ('format', 'pyformat')
    if '?' not in sql:
        _replacement(style, 1)  # still reject an unknown style
        return Translated(sql.replace('%', '%%') if percent_escapes else sql, 0, style)
    plain = _translate_plain(sql, style, question_mark_operators, rules)
    if plain is not None:
        return plain
    pieces = list(segments(sql, rules))
    masked = ''.join(_MASKS.get(kind) or _tokenizer_code(text, rules) for kind, text in pieces)
    decisions = iter(_placeholder_decisions(masked, question_mark_operators))
    out: list[str] = []
    count = 0
    for kind, text in pieces:
        parts = text.split('?') if kind == CODE else [text]
        if percent_escapes:
            parts = [part.replace('%', '%%') for part in parts]
        out.append(parts[0])
        for part in parts[1:]:
            if next(decisions):
                count += 1
                out.append(_replacement(style, count))
            else:
                out.append('?')
            out.append(part)
    return Translated(''.join(out), count, style)


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
    return translate(sql, 'qmark', False, rules).placeholder_count
