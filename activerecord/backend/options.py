"""Connection options as data: each backend maps an option name to one of these parsers.

A parser takes `(name, value)` and returns the value the backend uses, or raises a
ConfigurationError naming `ConnectionConfig.options[name]`, the value and what was expected.
Values from a URL arrive as text and values from code as Python objects, so every parser
takes both. The backend parses its options once, when it is made (`parse_options`).
"""
from __future__ import annotations

import math
import re
from typing import Any, Callable, Mapping

from ..errors import ConfigurationError

#: (option name, value as given) -> the value the backend uses
OptionParser = Callable[[str, Any], Any]

#: how a URL or an environment variable spells True and False
FLAG_WORDS: dict[str, bool] = {'1': True, 'true': True, 'yes': True, 'on': True,
                               '0': False, 'false': False, 'no': False, 'off': False}


def refused(name: str, value: Any, expected: str) -> ConfigurationError:
    """The error for an option value that is not allowed."""
    return ConfigurationError(f'ConnectionConfig.options[{name!r}]: {value!r} is not allowed; expected {expected}')


def parse_options(specs: Mapping[str, OptionParser], options: Mapping[str, Any], owner: str) -> dict[str, Any]:
    """Every option parsed by its backend's parser; a name the backend does not know is refused."""
    unknown = sorted(set(options) - set(specs))
    if unknown:
        allowed = ', '.join(sorted(specs)) or 'none'
        raise ConfigurationError(f'ConnectionConfig.options: {unknown[0]!r} is not an option of {owner}; '
                                 f'allowed: {allowed}')
    return {name: specs[name](name, value) for name, value in options.items()}


def flag(name: str, value: Any, expected: str = 'True or False', by_text: bool = False) -> bool:
    """True or False, from a bool or the words 1/0, true/false, yes/no, on/off (with `by_text`, any
    value whose text is such a word, e.g. the number 1)."""
    key = value if isinstance(value, str) else str(value) if by_text else None
    parsed = value if isinstance(value, bool) else None if key is None else FLAG_WORDS.get(key.lower())
    if parsed is None:
        raise refused(name, value, expected)
    return parsed


def seconds(name: str, value: Any) -> float:
    """A positive, finite number of seconds, from a number or its text (NaN would never time out)."""
    try:
        parsed = float(value)
    except (TypeError, ValueError, OverflowError):
        parsed = -1.0
    if isinstance(value, bool) or not 0 < parsed < math.inf:
        raise refused(name, value, 'a number of seconds > 0')
    return parsed


def integer(name: str, value: Any) -> int:
    """An integer, from anything whose text is decimal digits: never a bool, a float, '5.5' or '1_000'."""
    if not isinstance(value, bool) and re.fullmatch('-?[0-9]+', str(value)):
        return int(value)
    raise refused(name, value, 'an integer')


def text(name: str, value: Any) -> str:
    """A non-empty string, as given."""
    if not isinstance(value, str) or not value:
        raise refused(name, value, 'a non-empty string')
    return value


def text_or_integer(name: str, value: Any) -> str:
    """A string or an integer, as text (a server setting sent at login)."""
    if not isinstance(value, (str, int)):
        raise refused(name, value, 'a string or an integer')
    return str(value)


def as_text(name: str, value: Any) -> str:
    """Any value, as its text (a label such as an application name)."""
    return str(value)


def as_given(name: str, value: Any) -> Any:
    """Any value, passed to the driver unchanged (the driver checks it)."""
    return value


def matching(test: Callable[[str], bool], expected: str) -> OptionParser:
    """A parser for a non-empty string that passes `test` (a name written into SQL, say)."""
    def parse(name: str, value: Any) -> str:
        checked = text(name, value)
        if not test(checked):
            raise refused(name, value, expected)
        return checked
    return parse


def choice(*words: str, expected: str | None = None, any_case: bool = False) -> OptionParser:
    """A parser for one of `words` (with `any_case`, in any letter case); returns the word as spelled in `words`."""
    by_key: dict[str | None, str] = {word.upper() if any_case else word: word for word in words}
    expected = expected or 'one of ' + ', '.join(sorted(words))

    def parse(name: str, value: Any) -> str:
        key = str(value).upper() if any_case else value if isinstance(value, str) else None
        word = by_key.get(key)
        if word is None:
            raise refused(name, value, expected)
        return word
    return parse


def or_none(parser: OptionParser) -> OptionParser:
    """`parser`, except that None (the driver's own default) passes unchanged."""
    return lambda name, value: None if value is None else parser(name, value)

