"""SQL functions registered on every SQLite connection: exact decimal SUM/AVG and Unicode case folding.

SQLite keeps a Decimal column's values as doubles, so its own SUM adds binary fractions
(0.10 + 0.20 = 0.30000000000000004), and equal totals can order by their last binary digit. The
dialect renders SUM/AVG of a Decimal expression with `ar_decimal_sum`/`ar_decimal_avg` instead:
each value is read back as the decimal it was stored from (`repr` of a double written from a
decimal of up to 15 significant digits is that decimal), added exactly, and the exact result is
returned as its nearest double. For results of up to 15 significant digits that double reads
back as the exact decimal, equal totals are the same double, and distinct totals keep their
order, so ORDER BY, HAVING and window frames compare exact values. Both are window functions
too (running totals, moving sums).

SQLite's LOWER folds ASCII only; `ar_casefold` is Python's full Unicode case folding, which the
dialect uses for ilike.
"""
from __future__ import annotations

import decimal
import sqlite3
from typing import Any

DECIMAL_SUM = 'ar_decimal_sum'
DECIMAL_AVG = 'ar_decimal_avg'
CASE_FOLD = 'ar_casefold'

# wide enough that sums of 15-digit values never round, however many rows
_EXACT = decimal.Context(prec=60)


def _exact(value: Any) -> decimal.Decimal:
    if isinstance(value, float):
        return decimal.Decimal(repr(value))
    return decimal.Decimal(value if isinstance(value, (int, str)) else str(value))


class DecimalSum:
    """SUM of decimals stored as doubles, added exactly (an aggregate and window function).

    A step only counts the value (a Python call per row is the whole cost SQLite allows us);
    the counted values are converted and added when a result is asked for: once per group,
    or once per row of a window with just that row's change pending.
    """

    __slots__ = ('total', 'pending', 'count')

    def __init__(self) -> None:
        self.total = decimal.Decimal(0)
        self.pending: dict[Any, int] = {}
        self.count = 0

    def step(self, value: Any) -> None:
        """Count one row's value (NULL is skipped, as SUM does)."""
        if value is not None:
            pending = self.pending
            pending[value] = pending.get(value, 0) + 1
            self.count += 1

    def inverse(self, value: Any) -> None:
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

    def value(self) -> float | None:
        """The exact sum as its nearest double (NULL over no values)."""
        return float(self.exact_total()) if self.count else None

    finalize = value


class DecimalAvg(DecimalSum):
    """AVG of decimals stored as doubles: the exact mean as its nearest double."""

    __slots__ = ()

    def value(self) -> float | None:
        """The exact mean as its nearest double (NULL over no values)."""
        return float(_EXACT.divide(self.exact_total(), self.count)) if self.count else None

    finalize = value


def casefold(value: Any) -> Any:
    """Unicode case folding of text (other values as they are)."""
    return value.casefold() if isinstance(value, str) else value


def register_functions(raw: sqlite3.Connection) -> None:
    """Register the exact decimal aggregates and case folding on one connection."""
    raw.create_window_function(DECIMAL_SUM, 1, DecimalSum)
    raw.create_window_function(DECIMAL_AVG, 1, DecimalAvg)
    raw.create_function(CASE_FOLD, 1, casefold, deterministic=True)
