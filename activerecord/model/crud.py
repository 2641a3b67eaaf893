"""save / create / delete / refresh / find_* of ActiveRecord (bulk writes are in bulk.py).

Hot paths are kept short: SQL texts and converters come from the cached Statements, values
are read from `__dict__`, and a record is validated again only when a value changed since it
was last validated (construction validates; rows from the database are trusted).
"""
from __future__ import annotations

import contextlib
import datetime
from typing import Any

import pydantic

from .. import errors
from ..errors import ActiveRecordError, RecordNotFound, StaleObjectError
from . import hooks as _hooks
from .bulk import BulkMixin
from .finders import FinderMixin
from .config import _resolved
from ..query.data_errors import naming_field
from .metadata import _metas
from .rows import _SET_PRIVATE, fingerprint
from .schema_check import checked_statements, ensure_checked
from .state import DELETED, NEW, PERSISTED, VALIDATED, needs_validation, private_state
from .statements import Pair, Statements, statements_for


def to_params(model: type, values: dict[str, Any], pairs: list[Pair]) -> list[Any]:
    """Field values converted for the driver (a failing converter is reported with its field)."""
    try:
        return [value if (value := values[name]) is None or convert is None else convert(value)
                for name, convert in pairs]
    except Exception as error:
        raise conversion_error(model, values, pairs, error) from error


def conversion_error(model: type, values: dict[str, Any], pairs: list[Pair], error: Exception) -> Exception:
    """A DataError naming the field and value a converter refused."""
    for name, convert in pairs:
        value = values.get(name)
        if value is None or convert is None:
            continue
        try:
            convert(value)
        except Exception as failure:
            if isinstance(failure, errors.DataError):
                message = f'{model.__name__}.{name}: {failure}'
            else:
                message = (f'{model.__name__}.{name}: cannot store {type(value).__name__} value {value!r:.80} '
                           f'({failure})')
            return errors.DataError(message)
    return error if isinstance(error, ActiveRecordError) else errors.DataError(f'{model.__name__}: {error}')


def validate_record(record: Any) -> None:
    """Run pydantic validation on the record's current values, in place."""
    cls = type(record)
    values = record.__dict__
    try:
        fresh = cls.__pydantic_validator__.validate_python(
            {name: values[name] for name in cls.model_fields if name in values})
    except pydantic.ValidationError as error:
        raise errors.ValidationError.from_pydantic(cls.__name__, error) from None
    values.update(fresh.__dict__)


def utc_now() -> datetime.datetime:
    """The current instant, aware, in UTC (timestamps)."""
    return datetime.datetime.now(datetime.timezone.utc)


class CrudMixin(FinderMixin, BulkMixin):
    """Instance writes of ActiveRecord."""

    __slots__ = ()

    @classmethod
    def create(cls, **values: Any) -> Any:
        """Construct (validating) and save a record; returns it."""
        record = cls(**values)
        record.save()
        return record

    def save(self) -> Any:
        """INSERT a new record (filling its key) or UPDATE its changed columns; returns self."""
        cls = type(self)
        try:
            backend = _resolved[cls]
        except KeyError:
            backend = cls.backend()
        meta = _metas.get(cls) or cls.__meta__
        statements = meta.plans.get(type(backend.dialect)) or statements_for(meta, backend.dialect)
        if statements.checked_on is not backend:
            ensure_checked(statements, backend)
        private = self.__pydantic_private__
        if private is None:
            state, snapshot = NEW, VALIDATED   # constructed by pydantic and not assigned to since
        else:
            if '_ar_state' not in private:
                private_state(self)
            state, snapshot = private['_ar_state'], private['_ar_snap']
        values = self.__dict__
        table = _hooks._tables.get(cls)
        if table is None:
            table = _hooks.hook_table(cls)
        if not table and state == NEW and statements.plain_insert and values[statements.pk_names[0]] is None:
            # The hot path: nothing but the INSERT changes the record, so a failure leaves it as it was.
            if snapshot is not VALIDATED:
                validate_record(self)
            try:
                params = [value if (value := values[name]) is None or convert is None else convert(value)
                          for name, convert in statements.insert_auto_pairs]
            except Exception as error:
                raise conversion_error(cls, values, statements.insert_auto_pairs, error) from error
            try:
                key = backend.insert_returning_key(statements.insert_auto_sql, params)
            except errors.DataError as error:
                raise naming_field(cls, (values,), values, error)
            if key is None:
                raise errors.DatabaseError(f'{cls.__name__}: the database returned no generated key')
            convert = statements.pk_from_db
            values[statements.pk_names[0]] = key if convert is None else convert(key)
            if private is None:
                _SET_PRIVATE(self, {'_ar_snap': values.copy(), '_ar_state': PERSISTED})
            else:
                private['_ar_snap'] = values.copy()
                private['_ar_state'] = PERSISTED
            return self
        if state == DELETED:
            raise ActiveRecordError(f'cannot save {_describe(self, statements)}: it was deleted')
        private = private_state(self)
        backup = values.copy()
        try:
            if table and state != NEW and _transaction_needed(backend, table) and not self._ar_changed():
                # Nothing to write so far: no BEGIN/COMMIT is sent unless a before hook
                # changes a value, and then the transaction opens just before the UPDATE.
                _before_save(self, table, private, state)
                with backend.transaction() if self._ar_changed() else contextlib.nullcontext():
                    _write_and_after(self, cls, backend, statements, table, state)
                return self
            with _write_transaction(backend, table, _AFTER_SAVE):
                _before_save(self, table, private, state)
                _write_and_after(self, cls, backend, statements, table, state)
            return self
        except BaseException as error:
            # Nothing was written (or it was rolled back): the object is as it was, still savable.
            values.clear()
            values.update(backup)
            private['_ar_snap'] = snapshot
            private['_ar_state'] = state
            if isinstance(error, errors.DataError):
                raise naming_field(cls, (values,), values, error)
            raise

    def delete(self) -> bool:
        """DELETE the row (soft-delete models mark it); True if it deleted a row, False if the row was gone.

        When the row was already gone, the record is marked deleted and the after_delete hooks do
        not run (nothing was deleted).
        """
        cls = type(self)
        backend = cls.backend()
        statements = checked_statements(cls.__meta__, backend)
        private = private_state(self)
        state = private['_ar_state']
        if state != PERSISTED:
            raise ActiveRecordError(f'cannot delete {_describe(self, statements)}: '
                                    + ('it was never saved' if state == NEW else 'it was already deleted'))
        values = self.__dict__
        backup = values.copy()
        snapshot = private['_ar_snap']
        table = _hooks.hook_table(cls)
        try:
            with _write_transaction(backend, table, _AFTER_DELETE):
                _hooks.run(table, 'before_delete', self)
                soft = bool(cls.__soft_delete_field__) and not private.get('_ar_force')
                if soft:
                    deleted = _soft_delete(self, cls, backend, statements)
                else:
                    deleted = _hard_delete(self, cls, backend, statements)
                if deleted:
                    _hooks.run(table, 'after_delete', self)
        except BaseException:
            values.clear()
            values.update(backup)
            private['_ar_snap'] = snapshot
            private['_ar_state'] = state
            raise
        if not deleted:
            # the row was already gone (or already soft-deleted): the record keeps its values; a
            # hard delete counts it as deleted, a soft-delete record stays stored (restore() works)
            values.clear()
            values.update(backup)
            private['_ar_snap'] = snapshot
            private['_ar_state'] = state if soft else DELETED
        return deleted

    def refresh(self) -> Any:
        """Read the row again (by primary key) into this record; RecordNotFound if it is gone."""
        cls = type(self)
        backend = cls.backend()
        statements = checked_statements(cls.__meta__, backend)
        private = private_state(self)
        if private['_ar_state'] == NEW:
            raise ActiveRecordError(f'cannot refresh {_describe(self, statements)}: it was never saved')
        snapshot = private['_ar_snap'] or self.__dict__
        params = to_params(cls, snapshot, statements.pk_pairs)
        labels, rows = backend.query_rows(statements.select_by_pk_sql, params)
        if not rows:
            raise RecordNotFound(f'{_describe(self, statements)} no longer exists')
        loaded = statements.row_builder(labels)(rows[:1])[0]
        self.__dict__.update(loaded.__dict__)
        private.update(_ar_snap=loaded.__pydantic_private__['_ar_snap'], _ar_state=PERSISTED)
        return self


# -- the writes themselves ------------------------------------------------------------------

def sync_identity(backend: Any, statements: Statements) -> None:
    """After an explicit value for a generated key: keep the database's generator ahead of it."""
    synced = backend.dialect.sync_identity_sql(statements.table, statements.pk_columns[0])
    if synced is not None:
        backend.execute(*synced)


_AFTER_SAVE = frozenset({'after_save', 'after_create', 'after_update'})
_AFTER_DELETE = frozenset({'after_delete'})


def _write_transaction(backend: Any, table: dict, after: frozenset = _hooks.AFTER_WRITE) -> Any:
    """A transaction around hooks + write when hooks after this write (`after`) could fail it.

    Inside the caller's open transaction this is a savepoint, so that a failing after-hook undoes
    its own write and leaves the caller's transaction usable. Without such hooks nothing is sent.
    """
    if _transaction_needed(backend, table, after):
        return backend.transaction()
    return contextlib.nullcontext()


def _transaction_needed(backend: Any, table: dict, after: frozenset = _AFTER_SAVE) -> bool:
    """Whether the write needs a transaction or savepoint of its own (after-hooks that could fail it)."""
    if not table.keys() & after:
        return False
    return not backend.in_transaction or backend.features.savepoints


def _before_save(record: Any, table: dict, private: dict, state: int) -> None:
    """The hooks before a save's write, and validation when values changed."""
    _hooks.run(table, 'before_validate', record)
    if needs_validation(record, private):
        validate_record(record)
    _hooks.run(table, 'after_validate', record)
    _hooks.run(table, 'before_save', record)
    _hooks.run(table, 'before_create' if state == NEW else 'before_update', record)


def _write_and_after(record: Any, cls: type, backend: Any, statements: Statements, table: dict,
                     state: int) -> None:
    """A save's INSERT or UPDATE (none when nothing changed) and the hooks after it."""
    if state == NEW:
        _insert(record, cls, backend, statements)
        _hooks.run(table, 'after_create', record)
    else:
        _update(record, cls, backend, statements)
        _hooks.run(table, 'after_update', record)
    _hooks.run(table, 'after_save', record)


def _insert(record: Any, cls: type, backend: Any, statements: Statements) -> None:
    values = record.__dict__
    timestamps = cls.__timestamps__
    if timestamps:
        now = utc_now()
        for name in timestamps:
            if values.get(name) is None:
                values[name] = now
    meta = statements.meta
    omitted = tuple(name for name in meta.db_generated if values[name] is None)
    if statements.auto and values[statements.pk_names[0]] is None:
        if omitted:
            sql, pairs = statements.insert_without(omitted + (statements.pk_names[0],))
        else:
            sql, pairs = statements.insert_auto_sql, statements.insert_auto_pairs
        key = backend.insert_returning_key(sql, to_params(cls, values, pairs))
        if key is None:
            raise errors.DatabaseError(f'{cls.__name__}: the database returned no generated key for the INSERT')
        convert = statements.pk_from_db
        values[statements.pk_names[0]] = key if convert is None else convert(key)
    else:
        missing = [name for name in statements.pk_names if values[name] is None]
        if missing:
            raise errors.ValidationError(cls.__name__, [{
                'type': 'missing', 'loc': (missing[0],), 'input': None,
                'msg': 'primary key field is required (it is not generated by the database)'}])
        if omitted:
            sql, pairs = statements.insert_without(omitted)
        else:
            sql, pairs = statements.insert_all_sql, statements.all_pairs
        backend.execute(sql, to_params(cls, values, pairs))
        if statements.auto:
            sync_identity(backend, statements)
    if omitted:
        _read_back(record, cls, backend, statements, omitted)
    private = private_state(record)
    private['_ar_snap'] = record._ar_fingerprint()
    private['_ar_state'] = PERSISTED


def _read_back(record: Any, cls: type, backend: Any, statements: Statements, names: tuple[str, ...]) -> None:
    """Read values the database computed (SQL-expression defaults) after an INSERT."""
    labels, rows = backend.query_rows(statements.select_by_pk_sql,
                                      to_params(cls, record.__dict__, statements.pk_pairs))
    if rows:
        loaded = statements.row_builder(labels)(rows[:1])[0]
        for name in names:
            record.__dict__[name] = loaded.__dict__[name]


def _update(record: Any, cls: type, backend: Any, statements: Statements,
            changed: list[str] | None = None, missing_ok: bool = False,
            null_fields: tuple[str, ...] = ()) -> bool:
    """UPDATE the changed columns (or only `changed`); the snapshot takes just what was written.

    `null_fields` must still be NULL in the row for it to match (a soft delete marks a row once).

    An UPDATE matching no row raises RecordNotFound (or returns False with `missing_ok`): a
    write that did not happen is never reported as done. Every backend counts matched rows
    (MySQL through CLIENT_FOUND_ROWS), so an UPDATE to the values already stored still counts.
    """
    if changed is None:
        changed = record._ar_changed()
        if not changed:
            return True  # nothing changed: nothing is sent
    values = record.__dict__
    private = private_state(record)
    snapshot = private['_ar_snap']
    timestamps = cls.__timestamps__
    if timestamps and len(timestamps) > 1 and timestamps[1] not in changed:
        values[timestamps[1]] = utc_now()
        changed.append(timestamps[1])
    where = statements.pk_names
    lock = cls.__lock_field__
    if lock:
        where = where + (lock,)
        if lock not in changed:
            values[lock] = (snapshot[lock] or 0) + 1
            changed.append(lock)
    fields, dialect = statements.meta.fields, statements.dialect
    sql = statements.update_sql(tuple(changed), where, null_fields)
    params = to_params(cls, values, [(name, fields[name].raw_to_db(dialect)) for name in changed])
    params += to_params(cls, snapshot, [(name, fields[name].raw_to_db(dialect)) for name in where])
    count = backend.execute(sql, params)
    if count == 0:
        if lock:
            raise StaleObjectError(f'{_describe(record, statements)} was changed or deleted by someone else since '
                                   f'it was read ({lock} {snapshot[lock]!r} is no longer current); refresh() and '
                                   'retry')
        if missing_ok:
            return False
        raise RecordNotFound(f'{_describe(record, statements)} no longer exists on {backend.where()}: the UPDATE '
                             'matched no row (deleted elsewhere, or the model now points at another database); '
                             'nothing was written')
    written = dict(snapshot)
    mutable = statements.meta.mutable_fields
    for name in changed:
        written[name] = fingerprint(values[name]) if name in mutable else values[name]
    private['_ar_snap'] = written
    return True


def _hard_delete(record: Any, cls: type, backend: Any, statements: Statements) -> bool:
    private = private_state(record)
    snapshot = private['_ar_snap'] or record.__dict__
    lock = cls.__lock_field__
    if lock:
        where = statements.pk_names + (lock,)
        quote = statements.dialect.quote
        sql = (f'DELETE FROM {statements.quoted_table} WHERE '
               + ' AND '.join(f'{quote(statements.meta.fields[name].column)} = ?' for name in where))
        pairs = statements.pk_pairs + [(lock, statements.meta.fields[lock].raw_to_db(statements.dialect))]
    else:
        sql, pairs = statements.delete_sql, statements.pk_pairs
    count = backend.execute(sql, to_params(cls, snapshot, pairs))
    if lock and count == 0:
        raise StaleObjectError(f'{_describe(record, statements)} was changed or deleted by someone else since it '
                               f'was read ({lock} {snapshot[lock]!r} is no longer current)')
    if count == 0:
        return False
    private['_ar_state'] = DELETED
    return True


def _soft_delete(record: Any, cls: type, backend: Any, statements: Statements) -> bool:
    field = cls.__soft_delete_field__
    record.__dict__[field] = utc_now()
    # other unsaved changes stay unsaved; a row that is gone, or already marked (by an earlier
    # delete() or elsewhere), is not marked again: the UPDATE matches only an unmarked row
    return _update(record, cls, backend, statements, [field], missing_ok=True, null_fields=(field,))


def _describe(record: Any, statements: Statements) -> str:
    values = record.__dict__
    key = ', '.join(f'{name}={values.get(name)!r}' for name in statements.pk_names)
    return f'{type(record).__name__}({key})'


__all__ = ['CrudMixin', 'to_params', 'validate_record', 'utc_now']
