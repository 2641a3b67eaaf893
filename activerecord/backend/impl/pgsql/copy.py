"""COPY ... FROM STDIN for insert_many: the rows as COPY's text format, streamed in chunks.

A value's text is the text pg8000 sends for it as a statement parameter (the same encoder
table), so a row loaded by COPY is stored exactly as the multi-row INSERT would store it: the
column's own input function parses both. The only change is COPY's escaping: NULL is `\\N`,
and a backslash, tab, newline or carriage return inside a value is escaped.

Chunks are encoded one after another while pg8000 sends them, so the server parses a chunk
while the next one is being built; 100,000 rows never exist as one big string.
"""
from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any, Callable, Iterable, Iterator, Sequence

from .protocol import parameter_text

#: COPY's text for NULL
NULL_TEXT = '\\N'
#: the characters a value must not carry unescaped (in escaping order: the backslash first)
_ESCAPES = (('\\', '\\\\'), ('\t', '\\t'), ('\n', '\\n'), ('\r', '\\r'))
#: types whose str() is their text and can never hold a character COPY escapes
_PLAIN_TYPES: frozenset[type] = frozenset({int, float, decimal.Decimal, uuid.UUID})
#: types whose text (pg8000's) never needs escaping either
_SAFE_TYPES: frozenset[type] = frozenset({*_PLAIN_TYPES, bool, datetime.date, datetime.datetime,
                                          datetime.time, datetime.timedelta, type(None)})
#: rows per CopyData message: large enough that per-message costs vanish, small enough that
#: the server starts parsing early
CHUNK_ROWS = 2000


def copy_sql(quote: Callable[[str], str], table: str, columns: Sequence[str]) -> str:
    """The COPY statement loading `columns` of `table` in text format."""
    return f'COPY {table} ({", ".join(map(quote, columns))}) FROM STDIN'


def escape(text: str) -> str:
    """One value's text with COPY's escapes."""
    for plain, escaped in _ESCAPES:
        text = text.replace(plain, escaped)
    return text


def _value_text(value: Any) -> str:
    """A value's text as pg8000 would send it as a parameter (None: COPY's NULL)."""
    if value is None:
        return NULL_TEXT
    if value is True or value is False:
        return 't' if value else 'f'
    text = parameter_text(value)
    if isinstance(text, (bytes, bytearray)):   # pragma: no cover - pg8000 gives text for every type
        text = bytes(text).decode()
    return escape(str(text))


def column_texts(values: Sequence[Any]) -> Sequence[str]:
    """The COPY text of one column's values, the common shapes at C speed."""
    kinds = set(map(type, values))
    if kinds <= _PLAIN_TYPES:
        return list(map(str, values))
    if kinds == {str}:
        # one scan of the column decides whether any value needs escaping at all
        joined = ''.join(values)
        if '\\' in joined or '\t' in joined or '\n' in joined or '\r' in joined:
            return list(map(escape, values))
        return values
    if kinds <= _PLAIN_TYPES | {type(None)}:
        return [NULL_TEXT if value is None else str(value) for value in values]
    if kinds == {str, type(None)}:
        return [NULL_TEXT if value is None else escape(value) for value in values]
    return list(map(_value_text, values))


def copy_chunks(batches: Iterable[Sequence[Any]], width: int, encoding: str | None,
                adapt: Callable[[Sequence[Any]], Sequence[Any]] = list,
                chunk_rows: int = CHUNK_ROWS) -> Iterator[bytes | str]:
    """The rows (flat parameter lists, `width` values a row, made `adapt`ed) as COPY text,
    chunk by chunk.

    Batches are taken one at a time, so that a caller producing them lazily overlaps its work
    with the server's. With `encoding` (a Python codec) the chunks are bytes: a lone surrogate
    goes to the server, which refuses it as a bad value naming the line.
    """
    step = chunk_rows * width
    for batch in batches:
        params = adapt(batch)
        for start in range(0, len(params), step):
            chunk = params[start:start + step]
            columns = [column_texts(chunk[index::width]) for index in range(width)]
            text = '\n'.join(map('\t'.join, zip(*columns))) + '\n'
            yield text if encoding is None else text.encode(encoding, 'surrogatepass')
