"""insert_many and upsert: validated rows, one statement per batch, never one per row.

A batch holds batch_size rows, else the database's preferred number of parameters
(features.bulk_parameters) or as many rows as fit in its parameter limit (max_parameters);
several batches run in one transaction so that a failure leaves nothing half-written. Rows
are validated like constructed records (defaults applied) and run no per-row hooks.
"""
from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any, Callable, ContextManager, Iterable, Iterator, Sequence, cast

import pydantic

from .. import errors
from ..backend.base import StorageBackend
from ..backend.features import Features
from ..errors import ActiveRecordError, NotSupportedError
from ..query.data_errors import naming_field
from .bulk_rows import flattener, rows_validator
from .metadata import ModelAttributes
from .schema_check import plan_for
from .state import needs_validation, private_state
from .statements import Pair, Statements
from .values import sync_identity, to_params, utc_now

Row = dict[str, Any]   # one row's field values
Group = tuple[list[Pair], list[Row]]   # the (field, converter) pairs some rows write, and those rows


class BulkMixin(ModelAttributes):
    """Class-level bulk writes of ActiveRecord."""

    __slots__ = ()

    @classmethod
    def insert_many(cls, rows: Iterable[Any], *, batch_size: int | None = None,
                    return_keys: bool = False) -> Any:
        """INSERT validated rows (dicts or records), a batch per statement; returns the row count.

        With return_keys=True it returns the primary keys of the rows instead, in order (needs
        INSERT ... RETURNING: NotSupportedError names the backend otherwise).
        """
        backend, statements = plan_for(cls)   # the table agrees with the model
        copy_from = None if return_keys or batch_size is not None else backend.features.copy_min_rows
        if copy_from is not None:
            rows = _row_list(cls, rows)
            if len(rows) < copy_from or not backend.copy_allowed(statements.table):
                copy_from = None   # a view, or rules COPY would skip: the INSERTs below
            elif set(map(type, rows)) == {dict}:
                return _streamed_copy(cls, backend, statements, rows)
        records = _validated(cls, rows)
        if not records:
            return [] if return_keys else 0
        if return_keys and not backend.features.returning:
            raise NotSupportedError(f'{backend.name} cannot return generated keys from a multi-row INSERT '
                                    '(insert_many(return_keys=True) needs RETURNING)')
        groups = _groups(cls, statements, records)
        written = 0
        # rows are written group by group: each key goes back to its row's place
        keys: list[Any] = [None] * len(records) if return_keys else []
        position = {id(values): index for index, values in enumerate(records)} if return_keys else {}
        with _atomic(backend, groups, batch_size, copy_from):
            for index, (pairs, group) in enumerate(groups):
                _sync_before_generated(backend, statements, groups, index)
                if copy_from is not None and len(group) >= copy_from and pairs:
                    written += _copy(cls, backend, statements, pairs, group)
                    continue
                for batch, params in _packets(cls, backend, statements, group, pairs, batch_size, records):
                    columns = [statements.meta.fields[name].column for name, _ in pairs]
                    if return_keys:
                        sql = backend.dialect.insert_sql(statements.table, columns, len(batch), statements.pk_columns)
                        _, key_rows = backend.query_rows(sql, params)
                        if len(key_rows) != len(batch):
                            raise errors.DatabaseError(f'{cls.__name__}.insert_many: the database returned '
                                                       f'{len(key_rows)} keys for {len(batch)} rows')
                        for values, row in zip(batch, key_rows):
                            keys[position[id(values)]] = _key(statements, row)
                        written += len(batch)
                    else:
                        written += _write(backend, statements, columns, pairs, batch, params,
                                          lambda n: _explicit_key(backend, statements, pairs,
                                                                  backend.dialect.insert_sql(statements.table, columns, n)))
            _sync_explicit_keys(backend, statements, groups)
        return keys if return_keys else written

    @classmethod
    def upsert(cls, rows: Iterable[Any], conflict: Sequence[str], update: Sequence[str] | None = None, *,
               batch_size: int | None = None) -> int:
        """INSERT rows, or UPDATE the `update` fields of rows whose `conflict` fields already exist.

        `update` defaults to every inserted field but the conflict and key fields and the fields
        mixins set on INSERT only (created_at, deleted_at); a lock field (version) is incremented.
        An explicit list is written as given; an empty one keeps existing rows as they are. Uses
        the dialect's own form (ON CONFLICT, ON DUPLICATE KEY UPDATE, MERGE). Returns the number
        of rows written (inserted or updated).
        """
        backend, statements = plan_for(cls)   # the table agrees with the model
        fields = statements.meta.fields
        conflict = _field_list(cls, 'conflict', conflict)
        if not conflict:
            raise ActiveRecordError(f'{cls.__name__}.upsert: conflict= must name the unique field(s) to match on')
        explicit = None if update is None else _field_list(cls, 'update', update)
        records = _validated(cls, rows)
        if not records:
            return 0
        groups = _groups(cls, statements, records)
        written = 0
        with _atomic(backend, groups, batch_size):
            for index, (pairs, group) in enumerate(groups):
                _sync_before_generated(backend, statements, groups, index)
                inserted = [name for name, _ in pairs]
                increment: list[str] = []
                if explicit is None:
                    kept = set(conflict) | set(statements.pk_names) | _insert_only_fields(cls)
                    chosen = [name for name in inserted if name not in kept]
                    if cls.__lock_field__ in inserted and cls.__lock_field__ not in conflict:
                        increment.append(cls.__lock_field__)
                else:
                    chosen = explicit
                    absent = [name for name in chosen if name not in inserted]
                    if absent:
                        raise ActiveRecordError(f'{cls.__name__}.upsert: update field {absent[0]!r} is not written '
                                                'by these rows')
                columns = [fields[name].column for name in inserted]
                conflict_columns = [fields[name].column for name in conflict]
                update_columns = [fields[name].column for name in chosen]
                # passed only when there is one: a dialect's upsert_sql may predate the argument
                extra = {'increment': [fields[name].column for name in increment]} if increment else {}
                for batch, params in _packets(cls, backend, statements, group, pairs, batch_size, records):
                    written += _write(backend, statements, columns, pairs, batch, params,
                                      lambda n: _explicit_key(backend, statements, pairs, backend.dialect.upsert_sql(
                                          statements.table, columns, n, conflict_columns, update_columns,
                                          **extra)))
            _sync_explicit_keys(backend, statements, groups)
        return written


def _insert_only_fields(cls: type[ModelAttributes]) -> set[str]:
    """Fields mixins set when a row is inserted and never overwrite: created_at, deleted_at, version."""
    names: set[str] = set()
    if cls.__timestamps__:
        names.add(cls.__timestamps__[0])
    for name in (cls.__soft_delete_field__, cls.__lock_field__):
        if name:
            names.add(name)
    return names


def _explicit_key(backend: StorageBackend, statements: Statements, pairs: list[Pair], sql: str) -> str:
    """An INSERT/upsert that gives the generated key values, as the dialect lets it (SQL Server)."""
    if statements.auto and statements.pk_names[0] in dict(pairs):
        return backend.dialect.identity_insert_sql(statements.table, sql)
    return sql


def _sync_explicit_keys(backend: StorageBackend, statements: Statements, groups: list[Group]) -> None:
    """Rows that gave a generated key explicitly: keep the database's generator ahead of them."""
    if statements.auto and any(statements.pk_names[0] in dict(pairs) for pairs, _ in groups):
        sync_identity(backend, statements)


def _sync_before_generated(backend: StorageBackend, statements: Statements, groups: list[Group], index: int) -> None:
    """Before groups[index] takes generated keys: move the generator past the explicit keys of
    the groups written before it (else PostgreSQL's sequence hands out one of them again)."""
    if (statements.auto and index and statements.pk_names[0] not in dict(groups[index][0])
            and any(statements.pk_names[0] in dict(pairs) for pairs, _ in groups[:index])):
        sync_identity(backend, statements)


def _field_list(cls: type[ModelAttributes], argument: str, names: Sequence[str]) -> list[str]:
    listed = [names] if isinstance(names, str) else list(names)
    fields = cls.__meta__.fields
    for name in listed:
        if name not in fields:
            raise ActiveRecordError(f'{cls.__name__}.upsert({argument}=...): {name!r} is not a field; '
                                    f'fields: {", ".join(fields)}')
    return listed


def _row_list(cls: type[ModelAttributes], rows: Iterable[Any]) -> list[Any]:
    """The rows as a list (a single dict or a string is a mistake, not rows)."""
    if isinstance(rows, (dict, str, bytes)):
        raise ActiveRecordError(f'{cls.__name__}: expected a list of rows (dicts or records), got '
                                f'{_type_name(rows)}')
    return rows if isinstance(rows, list) else list(rows)


def _validated(cls: type[ModelAttributes], rows: Iterable[Any]) -> list[Row]:
    """Each row validated (defaults applied) as the dict of its field values."""
    rows = _row_list(cls, rows)
    validator = cls.__pydantic_validator__
    timestamps = cls.__timestamps__
    if rows and set(map(type, rows)) == {dict}:   # every row a plain dict (checked at C speed)
        # the common case: one call validates every row
        try:
            result: list[Row] = rows_validator(cls)(rows)
        except pydantic.ValidationError as error:
            raise errors.ValidationError.from_pydantic(f'{cls.__name__} rows', error) from None
        if timestamps:
            _fill_timestamps(result, timestamps)
        return result
    now = None
    result = []
    for index, row in enumerate(rows):
        if isinstance(row, cls):
            record = row
            if needs_validation(row, private_state(row)):
                record = _validate(cls, validator, {name: row.__dict__[name] for name in cls.model_fields}, index)
        elif isinstance(row, dict):
            record = _validate(cls, validator, row, index)
        else:
            raise ActiveRecordError(f'{cls.__name__}: row {index} is a {type(row).__name__}; expected a dict or a '
                                    f'{cls.__name__}')
        values = record.__dict__.copy()
        if timestamps:
            for name in timestamps:
                if values.get(name) is None:
                    if now is None:
                        now = utc_now()
                    values[name] = now
        result.append(values)
    return result


def _type_name(value: Any) -> str:
    """The name of a value's type, for messages (Any: a narrowed argument may be partly unknown)."""
    return type(value).__name__


def _fill_timestamps(result: list[dict[str, Any]], timestamps: tuple[str, ...]) -> None:
    now = utc_now()
    for values in result:
        for name in timestamps:
            if values.get(name) is None:
                values[name] = now


def _validate(cls: type[ModelAttributes], validator: Any, data: Any, index: int) -> Any:
    try:
        return validator.validate_python(data)
    except pydantic.ValidationError as error:
        # pydantic's ErrorDetails TypedDicts are the plain dicts errors() documents
        problems = cast('list[dict[str, Any]]', error.errors(include_url=False))
        for problem in problems:
            problem['loc'] = (index, *problem.get('loc', ()))   # which row
        raise errors.ValidationError(f'{cls.__name__} (row {index})', problems) from None


def _groups(cls: type[ModelAttributes], statements: Statements, records: list[Row]) -> list[Group]:
    """Rows grouped by the columns they write (a generated key or SQL default left out when None)."""
    meta = statements.meta
    optional = list(meta.db_generated)
    if statements.auto:
        optional.append(statements.pk_names[0])
    if not optional:
        return [(statements.all_pairs, records)]
    by_shape: dict[tuple[str, ...], list[Row]] = {}
    if len(optional) == 1:   # the usual case (a generated key): split without a tuple per row
        name = optional[0]
        given = [values for values in records if values[name] is not None]
        left_out = [values for values in records if values[name] is None] if len(given) < len(records) else []
        shapes = [((name,), left_out), ((), given)] if records[0][name] is None else [((), given), ((name,), left_out)]
        by_shape = {omitted: group for omitted, group in shapes if group}
    else:
        for values in records:
            omitted = tuple(name for name in optional if values[name] is None)
            by_shape.setdefault(omitted, []).append(values)
    groups: list[Group] = []
    for omitted, group in by_shape.items():
        missing = [name for name in statements.pk_names if name in omitted and not statements.auto]
        if missing:
            raise errors.ValidationError(cls.__name__, [{'type': 'missing', 'loc': (missing[0],), 'input': None,
                                                         'msg': 'primary key field is required'}])
        groups.append(([pair for pair in statements.all_pairs if pair[0] not in omitted], group))
    return groups


def _rows_per_statement(features: Features, width: int, batch_size: int | None) -> int:
    """batch_size, else the database's preferred batch (features.bulk_parameters); never more
    rows than fit in its parameter limit."""
    width = max(width, 1)
    per = max(1, features.max_parameters // width)
    if batch_size is not None:
        if (not isinstance(batch_size, int)  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
                or isinstance(batch_size, bool) or batch_size < 1):
            raise ActiveRecordError(f'batch_size={batch_size!r}: expected an integer >= 1')
        return min(per, batch_size)
    if features.bulk_parameters:
        per = min(per, max(1, features.bulk_parameters // width))
    return per


def _batches(backend: StorageBackend, rows: list[Row], width: int, batch_size: int | None) -> Iterator[list[Row]]:
    per = _rows_per_statement(backend.features, width, batch_size)
    for start in range(0, len(rows), per):
        yield rows[start:start + per]


def _atomic(backend: StorageBackend, groups: list[Group], batch_size: int | None,
            copy_from: int | None = None) -> ContextManager[Any]:
    """One transaction around several statements (unless one is already open)."""
    total = sum(len(group) for _, group in groups)
    per = _rows_per_statement(backend.features, max(len(pairs) for pairs, _ in groups), batch_size)
    if copy_from is not None and total >= copy_from:
        per = total   # one COPY statement loads the whole group
    several = len(groups) > 1 or total > per or not backend.features.multi_row_insert
    if not several and not backend.in_transaction:
        several = _may_outgrow_a_statement(backend, groups)
    if several and not backend.in_transaction:
        transaction: ContextManager[Any] = backend.transaction()
        return transaction
    return contextlib.nullcontext()


def _packets(cls: type[ModelAttributes], backend: StorageBackend, statements: Statements, rows: list[Row],
             pairs: list[Pair], batch_size: int | None,
             records: list[Row] | None = None) -> Iterator[tuple[list[Row], list[Any]]]:
    """(rows, their flat parameters) per statement: batches of _batches, each split further where
    the database limits a statement's bytes (MySQL's max_allowed_packet) and it would not fit.
    `records`, all the rows given in order, lets a refused row's error say its position."""
    width = len(pairs)
    limit = backend.statement_byte_limit()
    for batch in _batches(backend, rows, width, batch_size):
        params = _flat_params(cls, batch, pairs)
        if limit is None:
            yield batch, params
            continue
        # room for the statement around the values: its one-row text, each further row's
        # "(?, ...), " and an upsert's clause per column
        columns = [statements.meta.fields[name].column for name, _ in pairs]
        fixed = len(backend.dialect.insert_sql(statements.table, columns, 1)) + 64 * width + 256
        per_row = 2 * width + 4
        # at C speed first: text at 4 bytes a character (escaped or UTF-8), numbers of any length
        # (DECIMAL(65,30), big ints) at their digits, and 40 more for every value (quotes, dates)
        text = sum(map(len, filter(_IS_STR, params))) + sum(map(len, filter(_IS_BYTES, params)))
        digits = sum(map(len, map(str, filter(_IS_DECIMAL, params)))) + sum(map(len, map(str, filter(_IS_INT, params))))
        if fixed + 4 * text + digits + 40 * len(params) + per_row * len(batch) <= limit:
            yield batch, params
            continue
        yield from _split_to_fit(cls, backend, batch, params, width, limit - fixed, per_row, records)


_IS_STR = str.__instancecheck__   # C-level predicates for filter()
_IS_BYTES = bytes.__instancecheck__
_IS_DECIMAL = Decimal.__instancecheck__
_IS_INT = int.__instancecheck__


def _split_to_fit(cls: type[ModelAttributes], backend: StorageBackend, batch: list[Row], params: list[Any],
                  width: int, room: int, per_row: int,
                  records: list[Row] | None = None) -> Iterator[tuple[list[Row], list[Any]]]:
    """A batch as consecutive pieces whose values fit in `room` bytes; a row that alone does not fit
    is refused, naming it (and its position among `records`)."""
    start, used = 0, 0
    for index in range(len(batch)):
        size = backend.value_bytes(params[index * width:(index + 1) * width]) + per_row
        if size > room:
            raise errors.DataError(
                f'{cls.__name__}: {_row_position(batch[index], records)}({_row_summary(batch[index])}) needs {size:,} bytes in the INSERT, more than '
                f'the {room:,} bytes the server allows in one statement (its max_allowed_packet less the SQL); '
                f'raise max_allowed_packet or store less in one row')
        if used + size > room:
            yield batch[start:index], params[start * width:index * width]
            start, used = index, 0
        used += size
    yield batch[start:], params[start * width:]


def _row_position(row: Row, records: list[Row] | None) -> str:
    """'row 3 ' (counted from 0 in the rows given), or 'a row ' where the position is not known."""
    index = next((index for index, record in enumerate(records or ()) if record is row), None)
    return 'a row ' if index is None else f'row {index} (counted from 0) '


def _row_summary(row: Row) -> str:
    """A row's field values, each cut short, for an error message."""
    return ', '.join(f'{name}={_short(value)}' for name, value in row.items())


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f'{text[:30]}... ({len(text):,} characters)'


def _may_outgrow_a_statement(backend: StorageBackend, groups: list[Group]) -> bool:
    """Whether _packets might split the rows by bytes (the bound it starts with, over the rows)."""
    limit = backend.statement_byte_limit()
    if limit is None:
        return False
    size = 4096
    for pairs, group in groups:
        for row in group:
            for name, _ in pairs:
                value: Any = row[name]
                if isinstance(value, (str, bytes)):
                    size += 4 * len(value)
                else:
                    size += 4 * len(repr(value)) if type(value) in (dict, list) else 40
                    if type(value) in (Decimal, int):
                        size += len(str(value))
    return size > limit


def _flat_params(cls: type[ModelAttributes], batch: list[Row], pairs: list[Pair]) -> list[Any]:
    try:
        return flattener(pairs)(batch)
    except Exception:
        for values in batch:
            to_params(cls, values, pairs)   # raises the DataError that names the field
        raise


#: rows validated per step of a streamed COPY: the server loads one step while the next is validated
STREAM_ROWS = 4000


def _streamed_copy(cls: type[ModelAttributes], backend: StorageBackend, statements: Statements,
                   rows: list[dict[str, Any]]) -> int:
    """insert_many of many dicts through one COPY, validating them step by step as it streams.

    The rows of the first row's shape (its columns) are loaded by the COPY; rows of another
    shape (a generated key given explicitly) follow as INSERTs. A row that fails validation
    ends the COPY unwritten (CopyFail) and raises the error validating all rows gives, as
    insert_many does before writing anything; a savepoint keeps the caller's transaction usable.
    """
    validate = rows_validator(cls)
    timestamps = cls.__timestamps__
    now = utc_now() if timestamps else None
    loaded: list[Row] = []   # what the COPY has been given, for naming a refused value's field

    def validated(start: int) -> list[Row]:
        try:
            values = validate(rows[start:start + STREAM_ROWS])
        except pydantic.ValidationError:
            _validated(cls, rows)   # raises the error of the whole list, each row at its index
            raise
        if timestamps:
            for row in values:
                for name in timestamps:
                    if row.get(name) is None:
                        row[name] = now
        return values

    first_groups = _groups(cls, statements, validated(0))
    pairs = first_groups[0][0]
    if not pairs:   # every column left to the database: no COPY can say that
        return _inserted(cls, backend, statements, first_groups, rows[STREAM_ROWS:])
    others: dict[tuple[str, ...], Group] = {}

    def batches() -> Iterator[list[Any]]:
        groups = first_groups
        for start in range(0, len(rows), STREAM_ROWS):
            if start:
                groups = _groups(cls, statements, validated(start))
            for group_pairs, group in groups:
                if group_pairs == pairs:
                    loaded.extend(group)
                    yield _flat_params(cls, group, pairs)
                else:
                    others.setdefault(tuple(name for name, _ in group_pairs), (group_pairs, []))[1].extend(group)

    names = [name for name, _ in pairs]
    columns = [statements.meta.fields[name].column for name in names]
    with backend.transaction():
        try:
            written = backend.copy_rows(statements.table, columns, batches())
        except errors.DataError as error:
            raise naming_field(statements.meta.model, loaded, names, error)
        written = len(loaded) if written < 0 else written
        groups = [(pairs, loaded), *others.values()]
        for index, (group_pairs, group) in enumerate(groups[1:], 1):
            _sync_before_generated(backend, statements, groups, index)
            written += _inserted_group(cls, backend, statements, group_pairs, group)
        _sync_explicit_keys(backend, statements, groups)
    return written


def _inserted(cls: type[ModelAttributes], backend: StorageBackend, statements: Statements, first: list[Group],
              rest: list[dict[str, Any]]) -> int:
    """The rows through multi-row INSERTs after all (validated in full first)."""
    records = [values for _, group in first for values in group]
    if rest:
        records.extend(_validated(cls, rest))
    groups = _groups(cls, statements, records)
    with backend.transaction():
        written = 0
        for index, (pairs, group) in enumerate(groups):
            _sync_before_generated(backend, statements, groups, index)
            written += _inserted_group(cls, backend, statements, pairs, group, records)
        _sync_explicit_keys(backend, statements, groups)
    return written


def _inserted_group(cls: type[ModelAttributes], backend: StorageBackend, statements: Statements,
                    pairs: list[Pair], group: list[Row], records: list[Row] | None = None) -> int:
    """One group of rows in multi-row INSERT batches."""
    columns = [statements.meta.fields[name].column for name, _ in pairs]
    written = 0
    for batch, params in _packets(cls, backend, statements, group, pairs, None, records):
        written += _write(backend, statements, columns, pairs, batch, params,
                          lambda n: _explicit_key(backend, statements, pairs,
                                                  backend.dialect.insert_sql(statements.table, columns, n)))
    return written


def _copy(cls: type[ModelAttributes], backend: StorageBackend, statements: Statements, pairs: list[Pair],
          group: list[Row]) -> int:
    """Load a group of rows in one bulk statement (COPY): no statement size limit, no keys back."""
    names = [name for name, _ in pairs]
    params = _flat_params(cls, group, pairs)
    try:
        count = backend.copy_rows(statements.table, [statements.meta.fields[name].column for name in names], [params])
    except errors.DataError as error:
        raise naming_field(statements.meta.model, group, names, error)
    return len(group) if count < 0 else count


def _write(backend: StorageBackend, statements: Statements, columns: list[str], pairs: list[Pair], batch: list[Row],
           params: list[Any], sql_for: Callable[[int], str]) -> int:
    """Send one batch: a multi-row statement, or executemany of the one-row form."""
    try:
        if backend.features.multi_row_insert:
            count = backend.execute(sql_for(len(batch)), params)
        else:
            width = len(pairs)
            count = backend.executemany(sql_for(1), [params[i:i + width] for i in range(0, len(params), width)])
    except errors.DataError as error:
        raise naming_field(statements.meta.model, batch, [name for name, _ in pairs], error)
    # drivers count an upsert's update twice (MySQL) or not at all (-1): never more than the rows sent
    return len(batch) if count < 0 or count > len(batch) else count


def _key(statements: Statements, row: tuple[Any, ...]) -> Any:
    convert = statements.meta.pk_fields[0].raw_from_db(statements.dialect)
    values = tuple(value if value is None or convert is None else convert(value) for value in row)
    if len(values) == 1:
        return values[0]
    converters = [field.raw_from_db(statements.dialect) for field in statements.meta.pk_fields]
    return tuple(value if value is None or conv is None else conv(value) for value, conv in zip(row, converters))
