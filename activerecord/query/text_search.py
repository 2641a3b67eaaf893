"""Full-text search in expressions: a MATCH whose SQL is the dialect's 'match_<mode>' template.

    Post.c.body.match('quick fox')                    MySQL: MATCH (`posts`.`body`) AGAINST (? IN NATURAL LANGUAGE MODE)
    Post.c.body.match('+quick -lazy', mode='boolean')  ... AGAINST (? IN BOOLEAN MODE)
    match(Post.c.title, Post.c.body, 'words')         MATCH over several columns (one FULLTEXT index on all)

A match is true in WHERE when a row is relevant and its value is the relevance, so the same node
filters and orders (`.desc()`) and can be selected (`.as_()`).
"""
from __future__ import annotations

from typing import Any

from ..errors import ActiveRecordError
from .operations import ExpressionList, Operation, Parameter, type_name

#: the search modes; a dialect writes each through its 'match_<mode>' template
MATCH_MODES = ('natural', 'boolean', 'expansion')


class TextSearchOperators:
    """What a str column offers: match()."""

    __slots__ = ()

    def match(self, query: str, mode: str = 'natural') -> Operation:
        """MATCH (column) AGAINST (query): full-text condition and relevance; mode 'natural'|'boolean'|'expansion'."""
        return match(self, query, mode=mode)


def match(*columns_and_query: Any, mode: str = 'natural') -> Operation:
    """match(Post.c.title, Post.c.body, 'words'): MATCH over several columns (one FULLTEXT index on all)."""
    if len(columns_and_query) < 2:
        raise ActiveRecordError('match() takes one or more columns and then the search string')
    *columns, query = columns_and_query
    if mode not in MATCH_MODES:
        raise ActiveRecordError(f"match(mode={mode!r}): expected one of {', '.join(map(repr, MATCH_MODES))}")
    if not isinstance(query, str):
        raise ActiveRecordError(f'match() searches for a str, got {type(query).__name__} {query!r}')
    for column in columns:
        field = getattr(column, 'field', None)
        if field is not None and field.python_type is not str:
            raise ActiveRecordError(f'match() needs str fields with Column(fulltext=True); {column!r} is '
                                    f'{type_name(column)}')
    # The search string is a bound parameter, and so are its boolean operators (+ - * "").
    return Operation('match_' + mode, (ExpressionList(columns), Parameter(query)), 'fulltext',
                     'MATCH ... AGAINST', arguments=True)
