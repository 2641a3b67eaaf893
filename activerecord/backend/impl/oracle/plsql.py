"""PL/SQL calls on Oracle: anonymous blocks, stored procedures and functions with OUT values.

`PLSQLCalls` is a mixin of OracleBackend; each call runs through the backend's statement
skeleton (`_statement`, binding OUT variables on its cursor), so connection handling, logging
and error translation are those of any statement.
"""
from __future__ import annotations

import datetime
import decimal
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Mapping, Sequence, TypeAlias, TypeVar

from ....errors import ProgrammingError
from ...dialect import Dialect
from ...placeholders import translate
from ...types import type_of

T = TypeVar('T')

#: a name given to callproc/callfunc: [schema.][package.]name, unquoted or "quoted" parts
_PLSQL_NAME = re.compile(r'(?:[A-Za-z][A-Za-z0-9_$#]*|"[^"\x00]+")(?:\.(?:[A-Za-z][A-Za-z0-9_$#]*|"[^"\x00]+")){0,2}\Z')
_KEYWORD_NAME = re.compile(r'[A-Za-z][A-Za-z0-9_$#]*\Z')
#: text and bytes OUT variables are sized for the largest PL/SQL VARCHAR2/RAW
PLSQL_MAX_BYTES = 32767


@dataclass(frozen=True)
class Out:
    """An OUT parameter of execute_plsql / callproc: its Python type (or an oracledb DB_TYPE_*)."""
    type: Any = str
    size: int = 0


@dataclass(frozen=True)
class InOut:
    """An IN OUT parameter: the value sent in, and the type of the value that comes back."""
    value: Any
    type: Any = None
    size: int = 0


#: an OUT or IN OUT parameter (in PLSQLCalls's body the names Out and InOut are its attributes)
OutParameter: TypeAlias = 'Out | InOut'


class PLSQLCalls:
    """execute_plsql, callproc and callfunc, for a backend with the statement skeleton (`_statement`)."""

    Out = Out
    InOut = InOut

    if TYPE_CHECKING:
        # given by the backend this is mixed into (StorageBackend); declared for the checkers only
        paramstyle: ClassVar[str]
        dialect: Dialect

        def adapt_params(self, params: Sequence[Any]) -> Sequence[Any]: ...

        # with `bind`, `params` is only counted: a dict of named binds is counted alike
        def _statement(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None, read: Callable[[Any], T],
                       bind: Callable[[Any], Any] | None = None, many: bool = False,
                       after: Callable[[Any], None] | None = None, drains: bool = False) -> T: ...

    def execute_plsql(self, block: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> Any:
        """Run an anonymous PL/SQL block; returns its parameters after the call (OUT ones filled in).

        Positional parameters use `?` placeholders; a dict binds `:name` placeholders by name.
        Mark output parameters with `OracleBackend.Out(type)` / `OracleBackend.InOut(value, type)`.
        """
        params = () if params is None else params
        if isinstance(params, Mapping):
            for key in params:
                if not isinstance(key, str) or not _KEYWORD_NAME.match(key):  # pyright: ignore[reportUnnecessaryIsInstance]  # user input
                    raise ProgrammingError(f'execute_plsql: bind name {key!r} is not an identifier')
            return self._call(block, dict(params), len(params), named=True)
        if not isinstance(params, (list, tuple)):
            raise ProgrammingError(f'execute_plsql: parameters must be a list, tuple or dict, got '
                                   f'{type(params).__name__}')
        translated = translate(block, self.paramstyle, False, self.dialect.lexical_rules)
        if translated.placeholder_count != len(params):
            translated.bind(params)  # raises the count error
        return self._call(translated.sql, list(params), len(params), named=False)

    def callproc(self, name: str, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None) -> list[Any]:
        """Call a stored procedure; returns `args` with OUT/IN OUT values replaced by their results.

        `kwargs` pass parameters by name (`name => value`); their results are not returned.
        """
        call, binds = self._call_text(name, args, kwargs)
        values = self._call(f'BEGIN {call}; END;', binds, len(binds), named=True)
        return [values[f'p{index}'] for index in range(1, len(args) + 1)]

    def callfunc(self, name: str, return_type: Any, args: Sequence[Any] = (),
                 kwargs: Mapping[str, Any] | None = None) -> Any:
        """Call a stored function and return its value (`return_type`: a Python type or DB_TYPE_*)."""
        call, binds = self._call_text(name, args, kwargs)
        binds = {'ret': Out(return_type), **binds}
        return self._call(f'BEGIN :ret := {call}; END;', binds, len(binds), named=True)['ret']

    def _call_text(self, name: str, args: Sequence[Any],
                   kwargs: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
        if not isinstance(name, str) or not _PLSQL_NAME.match(name):  # pyright: ignore[reportUnnecessaryIsInstance]  # user input
            raise ProgrammingError(f'{name!r} is not a PL/SQL name; expected [schema.][package.]name')
        if not isinstance(args, (list, tuple)):
            raise ProgrammingError(f'the arguments of {name} must be a list or tuple, got {type(args).__name__}')
        binds = {f'p{index}': value for index, value in enumerate(args, 1)}
        parts = [f':p{index}' for index in range(1, len(args) + 1)]
        for key, value in (kwargs or {}).items():
            if not isinstance(key, str) or not _KEYWORD_NAME.match(key):  # pyright: ignore[reportUnnecessaryIsInstance]  # user input
                raise ProgrammingError(f'{name}: parameter name {key!r} is not an identifier')
            binds[f'k_{key}'] = value
            parts.append(f'{key} => :k_{key}')
        return f'{name}(' + ', '.join(parts) + ')', binds

    def _call(self, sql: str, params: list[Any] | dict[str, Any], count: int, named: bool) -> Any:
        """Execute a PL/SQL block with OUT variables; returns the parameters after the call."""
        # named calls bind a dict, positional ones a list
        items: Iterable[tuple[str, Any]] = (params.items() if isinstance(params, dict)
                                            else ((f'p{index}', value) for index, value in enumerate(params, 1)))
        # Plain values are converted before the connection is taken, as any statement's are;
        # OUT variables belong to the cursor, so they are made on it.
        inputs = [(name, value, value if isinstance(value, (Out, InOut)) else self._plsql_value(value))
                  for name, value in items]
        variables: dict[str, Any] = {}

        def bind(cursor: Any) -> dict[str, Any]:
            for name, _, sent in inputs:
                if isinstance(sent, (Out, InOut)):
                    variables[name] = self._plsql_variable(cursor, sent)
            return {name: variables.get(name, sent) for name, _, sent in inputs}

        def read(cursor: Any) -> dict[str, Any]:
            # OUT values as the call left them; other parameters as the caller gave them
            return {name: variables[name].getvalue() if name in variables else value for name, value, _ in inputs}

        results = self._statement(sql, params, read, bind)
        return results if named else list(results.values())

    def _plsql_variable(self, cursor: Any, parameter: OutParameter) -> Any:
        python_type: Any = parameter.type
        if python_type is None and isinstance(parameter, InOut):
            python_type = type_of(parameter.value) if parameter.value is not None else str
        size = parameter.size or (PLSQL_MAX_BYTES if python_type in (str, bytes) else 0)
        variable = cursor.var(python_type, size)
        if isinstance(parameter, InOut):
            variable.setvalue(0, self._plsql_value(parameter.value))
        return variable

    def _plsql_value(self, value: Any) -> Any:
        """A PL/SQL argument: bool stays a PL/SQL BOOLEAN; other types convert as in SQL."""
        if value is None or isinstance(value, (bool, int, float, str, bytes, decimal.Decimal,
                                               datetime.date, datetime.timedelta)):
            return value
        return self.adapt_params([value])[0]
