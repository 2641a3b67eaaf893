"""Property-based round trips: random values of every supported type, saved and loaded again on
every live backend, come back equal and of the same Python type (through INSERT, and through
UPDATE of a loaded record).

The strategies stay inside what each type promises everywhere: 64-bit ints, finite floats,
Decimals that fit the field's max_digits, datetimes in years 1000-9999 (MySQL's range),
timedeltas that fit in 64-bit microseconds, text without lone surrogates (refused, see
test_hostile_input.py) and, on PostgreSQL, without NUL (refused there too).
"""
from __future__ import annotations

import datetime
import enum
import os
import uuid
from decimal import Decimal
from typing import Annotated, Any, Optional

from hypothesis import HealthCheck, given, settings, strategies as st
from pydantic import Field

from activerecord import ActiveRecord

from .conftest import record

EXAMPLES = int(os.environ.get('AR_HYPOTHESIS_EXAMPLES', '40'))
UTC = datetime.timezone.utc


class Color(enum.Enum):
    RED = 'red'
    GREEN = 'green'
    QUOTE = "it's"


class Everything(ActiveRecord):
    __table_name__ = 'ar_rel_everything'
    id: int
    whole: Optional[int] = None
    text: Optional[str] = None
    short: Optional[Annotated[str, Field(max_length=40)]] = None
    flag: Optional[bool] = None
    real: Optional[float] = None
    money: Optional[Annotated[Decimal, Field(max_digits=15, decimal_places=6)]] = None
    instant: Optional[datetime.datetime] = None
    day: Optional[datetime.date] = None
    clock: Optional[datetime.time] = None
    span: Optional[datetime.timedelta] = None
    blob: Optional[bytes] = None
    key: Optional[uuid.UUID] = None
    color: Optional[Color] = None
    doc: Optional[dict] = None
    items: Optional[list] = None
    numbers: Optional[list[int]] = None
    words: Optional[list[str]] = None


def text(backend: str, **kwargs: Any) -> st.SearchStrategy[str]:
    excluded = '\x00'   # text with a NUL is refused on every backend (test_mistakes.py)
    return st.text(alphabet=st.characters(blacklist_categories=('Cs',), blacklist_characters=excluded), **kwargs)


def json_values(backend: str) -> st.SearchStrategy[Any]:
    scalars = (st.none() | st.booleans() | st.integers(-(2 ** 53), 2 ** 53)
               | st.floats(allow_nan=False, allow_infinity=False) | text(backend, max_size=20))
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(text(backend, max_size=8), inner, max_size=4), max_leaves=12)


def offsets() -> st.SearchStrategy[datetime.timezone]:
    return st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda minutes: datetime.timezone(
        datetime.timedelta(minutes=minutes)))


def field_values(backend: str) -> dict[str, st.SearchStrategy[Any]]:
    """A strategy per field (None included: every field is nullable)."""
    values = {
        'whole': st.integers(-(2 ** 63), 2 ** 63 - 1),
        'text': text(backend, max_size=300),
        'short': text(backend, max_size=40),
        'flag': st.booleans(),
        'real': st.floats(allow_nan=False, allow_infinity=False),
        'money': st.decimals(min_value=Decimal('-999999999.999999'), max_value=Decimal('999999999.999999'),
                             places=6, allow_nan=False, allow_infinity=False),
        'instant': st.datetimes(min_value=datetime.datetime(1000, 1, 2), max_value=datetime.datetime(9999, 12, 30),
                                timezones=offsets()),
        'day': st.dates(min_value=datetime.date(1000, 1, 1), max_value=datetime.date(9999, 12, 31)),
        'clock': st.times(),
        'span': st.timedeltas(min_value=datetime.timedelta(days=-100_000), max_value=datetime.timedelta(days=100_000)),
        'blob': st.binary(max_size=300),
        'key': st.uuids(),
        'color': st.sampled_from(Color),
        'doc': st.dictionaries(text(backend, max_size=10), json_values(backend), max_size=5),
        'items': st.lists(json_values(backend), max_size=5),
        'numbers': st.lists(st.integers(-(2 ** 63), 2 ** 63 - 1), max_size=6),
        'words': st.lists(text(backend, max_size=12), max_size=6),
    }
    return {name: st.none() | strategy for name, strategy in values.items()}


def rows(backend: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(field_values(backend))


def same_json(saved: Any, loaded: Any, backend: str) -> bool:
    """JSON equality, where PostgreSQL may give a float with an integral value back as an int.

    jsonb keeps a number's decimal value, not Python's int/float distinction: 1e+16 is stored
    as the numeric 10000000000000000 and read back as an int. The value still converts back
    to exactly the float that was saved.
    """
    if isinstance(saved, dict):
        return (isinstance(loaded, dict) and saved.keys() == loaded.keys()
                and all(same_json(saved[key], loaded[key], backend) for key in saved))
    if isinstance(saved, list):
        return (isinstance(loaded, list) and len(saved) == len(loaded)
                and all(same_json(a, b, backend) for a, b in zip(saved, loaded)))
    if isinstance(saved, float) and type(loaded) is int and backend == 'postgresql':
        return abs(saved) >= 1e16 and saved.is_integer() and float(loaded) == saved
    return type(saved) is type(loaded) and saved == loaded


def differences(expected: dict[str, Any], loaded: Everything, backend: str) -> list[str]:
    """Fields whose loaded value is not the saved one, or not of its Python type."""
    found = []
    for name, value in expected.items():
        got = getattr(loaded, name)
        if name in ('doc', 'items') and value is not None:
            same = same_json(value, got, backend)
        elif value is None:
            same = got is None
        elif isinstance(value, datetime.datetime):
            # An aware datetime keeps its instant (the zone it is read back in may differ).
            same = isinstance(got, datetime.datetime) and got.tzinfo is not None and got == value
        elif isinstance(value, float) and value == 0:
            same = type(got) is float and got == 0
        else:
            same = type(got) is type(value) and got == value
        if not same:
            found.append(f'{name}: saved {value!r}, loaded {got!r}')
    return found


def check_round_trips(backend_name: str) -> None:
    count = [0]

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=os.environ.get("AR_HYPOTHESIS_RANDOM") != "1",
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(first=rows(backend_name), second=rows(backend_name))
    def round_trip(first: dict[str, Any], second: dict[str, Any]) -> None:
        saved = Everything.create(**first)
        loaded = Everything.find_one(saved.id)
        assert not differences(first, loaded, backend_name), differences(first, loaded, backend_name)
        # UPDATE path: change every field of the loaded record and read it again.
        for name, value in second.items():
            setattr(loaded, name, value)
        loaded.save()
        again = Everything.find_one(saved.id)
        assert not differences(second, again, backend_name), differences(second, again, backend_name)
        count[0] += 2

    round_trip()
    record('round_trips', count[0])


def test_every_type_round_trips_through_save_and_load(db, bind) -> None:
    bind(Everything)
    check_round_trips(db.name)
    assert Everything.backend().pool.status()['checked_out'] == 0
