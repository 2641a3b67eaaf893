"""Translation of the internal `?` placeholder to a driver's paramstyle, once per SQL text.

Every SQL string inside activerecord (generated or raw) uses `?`. The driver wants its own
style; tokenizing with sqlparse tells a real placeholder from a `?` inside a string literal,
a quoted identifier, a comment, or (on PostgreSQL) a JSONB operator. Tokenizing is slow, so
each (sql, style) shape is translated once and cached.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, NamedTuple, Sequence

from sqlparse import tokens as T
from sqlparse.lexer import Lexer

from ..errors import ProgrammingError

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


# Once quoted identifiers ("x", `x`, [x]) are set aside, SQL without quotes, comments, dollar
# quoting or `#` has no literal that could hide a `?`, and without a `?word` no named
# placeholder: such SQL (generated multi-row VALUES and long IN lists, which may be megabytes
# long) is translated without the lexer.
_QUOTED_IDENTIFIER = re.compile(r'"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]')
_NEEDS_LEXER = re.compile(r"""['"`\[\]$#]|--|/\*|\?\w""")
# A `?` in an operand position, which can only be a placeholder: after ( or , and before , or ).
_OPERAND_MARK = re.compile(r'[(,]\s*\?(?=\s*[,)])')


def _translate_plain(sql: str, style: str, question_mark_operators: bool) -> Translated | None:
    """The lexer-free path for SQL with no literal or comment; None when the lexer is needed."""
    if any('?' in name for name in _QUOTED_IDENTIFIER.findall(sql)):
        return None
    outside = _QUOTED_IDENTIFIER.sub(' x ', sql)
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
def translate(sql: str, style: str, question_mark_operators: bool = False) -> Translated:
    """Translate `?` placeholders of `sql` into `style`; cached by SQL text."""
    percent_escapes = style in ('format', 'pyformat')
    if '?' not in sql and not (percent_escapes and '%' in sql):
        _replacement(style, 1)  # still reject an unknown style
        return Translated(sql, 0, style)
    plain = _translate_plain(sql, style, question_mark_operators)
    if plain is not None:
        return plain
    out: list[str] = []
    count = 0
    previous: tuple[Any, str] | None = None  # the previous significant token
    tokens = list(Lexer.get_default_instance().get_tokens(sql))
    for position, (ttype, value) in enumerate(tokens):
        if ttype in T.Name.Placeholder and value == '?':
            following = tokens[position + 1][1] if position + 1 < len(tokens) else ''
            is_operator = question_mark_operators and (
                following in ('|', '&')
                or (previous is not None and (
                    any(previous[0] in kind for kind in _OPERAND_TYPES) or previous[1] in (')', ']'))))
            if is_operator:
                out.append(value)
            else:
                count += 1
                out.append(_replacement(style, count))
        elif percent_escapes and '%' in value:
            out.append(value.replace('%', '%%'))
        else:
            out.append(value)
        if ttype not in T.Whitespace and ttype not in T.Newline and ttype not in T.Comment:
            # A bound placeholder is an operand: a `?` right after it is an operator.
            if ttype in T.Name.Placeholder:
                previous = (T.Operator, value) if out[-1] == '?' else (T.Name, value)
            elif previous is not None and previous[1] == '::' and ttype in T.Keyword:
                previous = (T.Name, value)  # a type after a cast (`x::jsonb ? 'k'`) is an operand
            else:
                previous = (ttype, value)
    return Translated(''.join(out), count, style)


def count_placeholders(sql: str) -> int:
    """How many real `?` placeholders a (raw) SQL fragment has."""
    return translate(sql, 'qmark').placeholder_count
