"""SQL functions registered on every SQLite connection: exact decimal SUM/AVG and Unicode case folding.

SQLite keeps a Decimal column's values as doubles, so its own SUM adds binary fractions
(0.10 + 0.20 = 0.30000000000000004), and equal totals can order by their last binary digit. The
dialect renders SUM/AVG of a Decimal expression with `ar_decimal_sum`/`ar_decimal_avg` instead:
each value is read back as the decimal it was stored from (`repr` of a double written from a
decimal of up to 15 significant digits is that decimal), added exactly, and the exact result is
returned as its nearest double. For results of up to 15 significant digits that double reads
back as the exact decimal, equal totals are the same double, and distinct totals keep their
order, so ORDER BY, HAVING and window frames compare exact values. Both are window functions
too (running totals, moving sums). A result the double cannot hold exactly is refused: the
function records why in `refusal` and raises, and the backend turns sqlite3's generic
"user-defined aggregate ... raised error" into DataError with that reason.

SQLite's LOWER folds ASCII only; `ar_casefold` lower-cases all of Unicode one character for one,
as PostgreSQL's and MariaDB's LOWER/ILIKE do (so `_` still matches 'ß'), which the dialect uses
for ilike.
"""
from __future__ import annotations

import decimal
import sqlite3
import threading
from typing import Any

from .types import FLOAT_DIGITS

DECIMAL_SUM = 'ar_decimal_sum'
DECIMAL_AVG = 'ar_decimal_avg'
CASE_FOLD = 'ar_casefold'

# wide enough that sums of 15-digit values never round, however many rows
_EXACT = decimal.Context(prec=60)
#: an AVG is read with at least 4 decimal places (result_types.DIVISION_PLACES): a mean that
#: does not fit 15 digits is exact to those places only while its integer part has room for them
_MEAN_INTEGER_DIGITS = FLOAT_DIGITS - 4


class Refusal(threading.local):
    """Why the last exact aggregate on this thread refused its result (sqlite3 runs a function
    on the thread executing the statement, and reports only that a function raised)."""

    message: str | None = None


refusal = Refusal()


class InexactResult(ArithmeticError):
    """An exact aggregate whose result a double cannot hold."""


def _as_double(exact: decimal.Decimal, what: str) -> float:
    """The exact result as a double, refused when the double does not read back as it."""
    number = float(exact)
    if decimal.Decimal(repr(number)) != exact:
        refusal.message = (f'the exact {what} {exact} has more than {FLOAT_DIGITS} significant digits: '
                           'SQLite keeps decimals as doubles and cannot return it without rounding')
        raise InexactResult(refusal.message)
    return number


#: a double read as the decimal of up to 15 digits it stands for: a stored Decimal reads back as
#: itself, and float arithmetic in SQL (price * qty = 4.6000000000000005) as the decimal it
#: computed (4.6), so that its noise neither rounds a total nor makes it look too wide
_STORED = decimal.Context(prec=FLOAT_DIGITS)


def _exact(value: Any) -> decimal.Decimal:
    if isinstance(value, float):
        return _STORED.create_decimal(repr(value))
    return decimal.Decimal(value if isinstance(value, (int, str)) else str(value))


class DecimalSum:
    """SUM of decimals stored as doubles, added exactly (an aggregate and window function).

    A step only counts the value (a Python call per row is the whole cost SQLite allows us);
    the counted values are converted and added when a result is asked for: once per group,
    or once per row of a window with just that row's change pending. The dialect passes the
    decimal places the result is read with as a second argument: the exact result is rounded
    half up to them once, here (a no-op for a column's own values), and refused when it then
    has more than 15 significant digits. Called with one argument (DISTINCT, raw SQL) the
    places are unknown and the exact result itself must fit.
    """

    __slots__ = ('total', 'pending', 'count', 'places')

    def __init__(self) -> None:
        self.total = decimal.Decimal(0)
        self.pending: dict[Any, int] = {}
        self.count = 0
        self.places: int | None = None

    def step(self, value: Any, places: int | None = None) -> None:
        """Count one row's value (NULL is skipped, as SUM does)."""
        if value is not None:
            pending = self.pending
            pending[value] = pending.get(value, 0) + 1
            self.count += 1
            self.places = places

    def inverse(self, value: Any, places: int | None = None) -> None:
        """Take away a row leaving the window frame."""
        if value is not None:
            pending = self.pending
            pending[value] = pending.get(value, 0) - 1
            self.count -= 1

    def exact_total(self) -> decimal.Decimal:
        """The exact sum of the values counted so far."""
        if self.pending:
            total = self.total
            for value, times in self.pending.items():
                if times:
                    total = _EXACT.add(total, _EXACT.multiply(_exact(value), times))
            self.total = total
            self.pending = {}
        return self.total

    def result(self, exact: decimal.Decimal, what: str) -> float:
        """The exact result rounded to the places it is read with, as a double."""
        if self.places is not None:
            exact = exact.quantize(decimal.Decimal(1).scaleb(-self.places), rounding=decimal.ROUND_HALF_UP,
                                   context=_EXACT)
        return _as_double(exact, what)

    def value(self) -> float | None:
        """The exact sum as a double (NULL over no values); refused when it would round."""
        return self.result(self.exact_total(), 'SUM') if self.count else None

    finalize = value


class DecimalAvg(DecimalSum):
    """AVG of decimals stored as doubles: the exact mean, rounded half up once to the places it
    is read with (a mean is rarely a short decimal: 0.10, 0.20, 0.20 -> 0.1666...), as a double.

    With one argument the places are unknown: the mean is returned as its nearest double,
    refused only when its integer part leaves no room within 15 digits for the 4 extra places
    an AVG is read with.
    """

    __slots__ = ()

    def value(self) -> float | None:
        """The exact mean as a double (NULL over no values); refused when it would round."""
        if not self.count:
            return None
        mean = _EXACT.divide(self.exact_total(), self.count)
        if self.places is not None or mean.adjusted() >= _MEAN_INTEGER_DIGITS:
            return self.result(mean, 'AVG')
        return float(mean)

    finalize = value


def casefold(value: Any) -> Any:
    """Text in lower case, one character for one (other values as they are).

    Not str.casefold(): it turns 'ß' into 'ss', so 'stra_e' would miss 'Straße' and '%SS%' match
    it, unlike PostgreSQL and MariaDB. 'İ' is the one letter whose lower() is two characters
    ('i' + a combining dot): it is folded to 'i' first, as the servers do.
    """
    return value.replace('İ', 'i').lower() if isinstance(value, str) else value


#: the ordered string aggregate (func.string_agg): SQLite before 3.44 orders no aggregate's input
STRING_AGG = 'ar_string_agg'


class StringAgg:
    """ar_string_agg(value, separator, directions, key, ...): the non-NULL values joined by the
    separator, ordered by the keys ('a' / 'd' in directions: ascending / descending; NULL first
    ascending, as SQLite orders)."""

    def __init__(self) -> None:
        self.rows: list[tuple[tuple[Any, ...], str]] = []
        self.separator = ''
        self.directions = ''

    def step(self, value: Any, separator: Any, directions: Any, *keys: Any) -> None:
        self.separator, self.directions = str(separator), str(directions)
        if value is not None:
            self.rows.append((keys, str(value)))

    def finalize(self) -> str | None:
        if not self.rows:
            return None
        rows = self.rows
        for index in reversed(range(len(self.directions))):   # stable sorts, last key first
            rows.sort(key=lambda row: _sort_key(row[0][index]), reverse=self.directions[index] == 'd')
        return self.separator.join(value for _, value in rows)


def _sort_key(value: Any) -> tuple[int, Any]:
    """SQLite's order across types: NULL, numbers, text, blobs."""
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float)):
        return (1, value)
    return (2, value) if isinstance(value, str) else (3, value)


def concat(*values: Any) -> str:
    """CONCAT() as SQLite 3.44 has it built in: the text of every argument, NULL as ''."""
    return ''.join('' if value is None else value.decode() if isinstance(value, bytes) else str(value)
                   for value in values)


def register_functions(raw: sqlite3.Connection) -> None:
    """Register the exact decimal aggregates, case folding, and CONCAT where SQLite lacks it."""
    for arguments in (1, 2):   # the value, and the places its result is read with
        # typeshed declares step/inverse as attributes of any signature: methods do
        raw.create_window_function(DECIMAL_SUM, arguments, DecimalSum)  # type: ignore[arg-type]
        raw.create_window_function(DECIMAL_AVG, arguments, DecimalAvg)  # type: ignore[arg-type]
    raw.create_function(CASE_FOLD, 1, casefold, deterministic=True)
    raw.create_aggregate(STRING_AGG, -1, StringAgg)  # type: ignore[arg-type]  # typeshed: one-int step only
    if sqlite3.sqlite_version_info < (3, 44):   # CONCAT() became built in with 3.44
        raw.create_function('concat', -1, concat, deterministic=True)
