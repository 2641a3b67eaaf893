"""save / create / delete / refresh of ActiveRecord (lookups are in finders.py, bulk writes in bulk.py).

Hot paths are kept short: SQL texts and converters come from the cached Statements, values
are read from `__dict__`, and a record is validated again only when a value changed since it
was last validated (construction validates; rows from the database are trusted).
"""
from __future__ import annotations

import contextlib
from typing import Any, ContextManager, Literal

from typing_extensions import Self  # typing.Self from 3.11; pydantic depends on typing_extensions

from .. import errors
from ..backend.base import StorageBackend
from ..backend.types import type_of
from ..errors import ActiveRecordError, RecordNotFound, StaleObjectError
from ..query.data_errors import naming_field
from . import hooks as _hooks
from .hooks import HookTable
from .metadata import ModelAttributes
from .pydantic_internals import set_private
from .schema_check import plan_for
from .state import CLEAN, CURRENT, DELETED, NEW, PERSISTED, VALIDATED, fingerprint, needs_validation, private_state
from .statements import Statements, statements_for
from .values import conversion_error, sync_identity, to_params, utc_now, validate_record


class CrudMixin(ModelAttributes):
    """Instance writes of ActiveRecord."""

    __slots__ = ()

    @classmethod
    def create(cls, **values: Any) -> Self:
        """Construct (validating) and save a record; returns it."""
        record = cls(**values)
        record.save()
        return record

    def save(self) -> Self:
        """INSERT a new record (filling its key) or UPDATE its changed columns; returns self."""
        cls = type(self)
        backend, statements = plan_for(cls)
        private = self.__pydantic_private__
        if private is None:
            state, snapshot = NEW, VALIDATED   # constructed by pydantic and not assigned to since
        else:
            if '_ar_state' not in private:
                private_state(self)
            state, snapshot = private['_ar_state'], private['_ar_snap']
        values: dict[str, Any] = self.__dict__  # pyright: ignore[reportAssignmentType]  # see "the writes themselves"
        hooks = _hooks.table_cache.get(cls)
        if hooks is None:
            hooks = _hooks.hook_table(cls)
        if not hooks and state == NEW and statements.plain_insert and values[statements.pk_names[0]] is None:
            # The hot path: nothing but the INSERT changes the record, so a failure leaves it as it was.
            if snapshot is not VALIDATED:
                validate_record(self)
            try:
                params = statements.insert_auto_params(values)
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
            # no dict/list fields here (plain_insert): the lean state, snapshot taken on the next change
            if private is None:
                set_private(self, CLEAN)
            else:
                private['_ar_snap'] = CURRENT
                private['_ar_state'] = PERSISTED
            return self
        if state == DELETED:
            raise ActiveRecordError(f'cannot save {_describe(self, statements)}: it was deleted')
        private = private_state(self)
        try:
            # Nothing is written unless all of it is (or it is rolled back): on failure the
            # record is as it was, still savable.
            with Undo(values, private):
                if hooks and state != NEW and _transaction_needed(backend, hooks) and not self._ar_changed():
                    # Nothing to write so far: no BEGIN/COMMIT is sent unless a before hook
                    # changes a value, and then the transaction opens just before the UPDATE.
                    _before_save(self, hooks, private, state)
                    with backend.transaction() if self._ar_changed() else contextlib.nullcontext():
                        _write_and_after(self, cls, backend, statements, hooks, state)
                    return self
                with _write_transaction(backend, hooks, _AFTER_SAVE):
                    _before_save(self, hooks, private, state)
                    _write_and_after(self, cls, backend, statements, hooks, state)
                return self
        except errors.DataError as error:
            raise naming_field(cls, (values,), values, error)

    def delete(self) -> bool:
        """DELETE the row (soft-delete models mark it); True if it deleted a row, False if the row was gone.

        When the row was already gone, the record is marked deleted and the after_delete hooks do
        not run (nothing was deleted).
        """
        cls = type(self)
        backend, statements = plan_for(cls)
        private = private_state(self)
        state = private['_ar_state']
        if state != PERSISTED:
            raise ActiveRecordError(f'cannot delete {_describe(self, statements)}: '
                                    + ('it was never saved' if state == NEW else 'it was already deleted'))
        hooks = _hooks.hook_table(cls)
        soft = None if private.get('_ar_force') else cls.__soft_delete_field__   # the field a soft delete marks
        values: dict[str, Any] = self.__dict__  # pyright: ignore[reportAssignmentType]  # as in save()
        with Undo(values, private) as undo:
            with _write_transaction(backend, hooks, _AFTER_DELETE):
                _hooks.run(hooks, 'before_delete', self)
                if soft:
                    deleted = _soft_delete(self, cls, backend, statements, soft)
                else:
                    deleted = _hard_delete(self, cls, backend, statements)
                if deleted:
                    _hooks.run(hooks, 'after_delete', self)
        if not deleted:
            # the row was already gone (or already soft-deleted): the record keeps its values; a
            # hard delete counts it as deleted, a soft-delete record stays stored (restore() works)
            undo.restore(state if soft else DELETED)
        return deleted

    def refresh(self) -> Self:
        """Read the row again (by primary key) into this record; RecordNotFound if it is gone."""
        cls = type(self)
        backend, statements = plan_for(cls)
        private = private_state(self)
        if private['_ar_state'] == NEW:
            raise ActiveRecordError(f'cannot refresh {_describe(self, statements)}: it was never saved')
        values: dict[str, Any] = self.__dict__  # pyright: ignore[reportAssignmentType]  # as in save()
        snapshot = private['_ar_snap'] or values
        params = to_params(cls, snapshot, statements.pk_pairs)
        labels, rows = backend.query_rows(statements.select_by_pk_sql, params)
        if not rows:
            raise RecordNotFound(f'{_describe(self, statements)} no longer exists')
        loaded = statements.row_builder(labels)(rows[:1])[0]
        values.update(loaded.__dict__)
        private.update(_ar_snap=loaded.__pydantic_private__['_ar_snap'], _ar_state=PERSISTED)
        return self


# -- the writes themselves ------------------------------------------------------------------
# A record is typed Any in these helpers: pyright reads a pydantic model's `__dict__` (a slot of
# BaseModel's) as the class's mappingproxy, and they write the record's values through it.

def update_columns(record: Any, **values: Any) -> None:
    """Assign these fields of a stored record and UPDATE only their columns; on failure nothing changed."""
    cls: type[ModelAttributes] = type_of(record)
    backend = cls.backend()
    with Undo(record.__dict__, private_state(record)):
        record.__dict__.update(values)
        _update(record, cls, backend, statements_for(cls.__meta__, backend.dialect), list(values))


class Undo:
    """`with Undo(record.__dict__, private_state(record)):` puts values and state back when the block fails."""

    __slots__ = ('values', 'backup', 'private', 'snapshot', 'state')

    def __init__(self, values: dict[str, Any], private: dict[str, Any]) -> None:
        self.values, self.backup, self.private = values, values.copy(), private
        self.snapshot, self.state = private['_ar_snap'], private['_ar_state']

    def __enter__(self) -> Undo:
        return self

    def __exit__(self, kind: object, error: object, traceback: object) -> Literal[False]:
        if kind is not None:
            self.restore(self.state)
        return False

    def restore(self, state: int) -> None:
        """The values and snapshot as they were, in the given state."""
        self.values.clear()
        self.values.update(self.backup)
        self.private['_ar_snap'] = self.snapshot
        self.private['_ar_state'] = state


_AFTER_SAVE = frozenset({'after_save', 'after_create', 'after_update'})
_AFTER_DELETE = frozenset({'after_delete'})


def _write_transaction(backend: StorageBackend, hooks: HookTable,
                       after: frozenset[str] = _hooks.AFTER_WRITE) -> ContextManager[Any]:
    """A transaction around hooks + write when hooks after this write (`after`) could fail it.

    Inside the caller's open transaction this is a savepoint, so that a failing after-hook undoes
    its own write and leaves the caller's transaction usable. Without such hooks nothing is sent.
    """
    if _transaction_needed(backend, hooks, after):
        return backend.transaction()
    return contextlib.nullcontext()


def _transaction_needed(backend: StorageBackend, hooks: HookTable, after: frozenset[str] = _AFTER_SAVE) -> bool:
    """Whether the write needs a transaction or savepoint of its own (after-hooks that could fail it)."""
    if not hooks.keys() & after:
        return False
    return not backend.in_transaction or backend.features.savepoints


def _before_save(record: Any, hooks: HookTable, private: dict[str, Any], state: int) -> None:
    """The hooks before a save's write, and validation when values changed."""
    _hooks.run(hooks, 'before_validate', record)
    if needs_validation(record, private):
        validate_record(record)
    _hooks.run(hooks, 'after_validate', record)
    _hooks.run(hooks, 'before_save', record)
    _hooks.run(hooks, 'before_create' if state == NEW else 'before_update', record)


def _write_and_after(record: Any, cls: type[ModelAttributes], backend: StorageBackend,
                     statements: Statements, hooks: HookTable, state: int) -> None:
    """A save's INSERT or UPDATE (none when nothing changed) and the hooks after it."""
    if state == NEW:
        _insert(record, cls, backend, statements)
        _hooks.run(hooks, 'after_create', record)
    else:
        _update(record, cls, backend, statements)
        _hooks.run(hooks, 'after_update', record)
    _hooks.run(hooks, 'after_save', record)


def _insert(record: Any, cls: type[ModelAttributes], backend: StorageBackend,
            statements: Statements) -> None:
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


def _read_back(record: Any, cls: type[ModelAttributes], backend: StorageBackend, statements: Statements,
               names: tuple[str, ...]) -> None:
    """Read values the database computed (SQL-expression defaults) after an INSERT."""
    labels, rows = backend.query_rows(statements.select_by_pk_sql,
                                      to_params(cls, record.__dict__, statements.pk_pairs))
    if rows:
        loaded = statements.row_builder(labels)(rows[:1])[0]
        for name in names:
            record.__dict__[name] = loaded.__dict__[name]


def _update(record: Any, cls: type[ModelAttributes], backend: StorageBackend, statements: Statements,
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
    sql, set_pairs, where_pairs = statements.update_plan(tuple(changed), where, null_fields)
    params = to_params(cls, values, set_pairs)
    params += to_params(cls, snapshot, where_pairs)
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


def _hard_delete(record: Any, cls: type[ModelAttributes], backend: StorageBackend,
                 statements: Statements) -> bool:
    private = private_state(record)
    snapshot = private['_ar_snap'] or record.__dict__
    lock = cls.__lock_field__
    if lock:
        sql = statements.delete_locked_sql
        assert sql is not None   # built for every model with a lock field
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


def _soft_delete(record: Any, cls: type[ModelAttributes], backend: StorageBackend,
                 statements: Statements, field: str) -> bool:
    record.__dict__[field] = utc_now()
    # other unsaved changes stay unsaved; a row that is gone, or already marked (by an earlier
    # delete() or elsewhere), is not marked again: the UPDATE matches only an unmarked row
    return _update(record, cls, backend, statements, [field], missing_ok=True, null_fields=(field,))


def _describe(record: Any, statements: Statements) -> str:
    values = record.__dict__
    key = ', '.join(f'{name}={values.get(name)!r}' for name in statements.pk_names)
    return f'{type(record).__name__}({key})'


__all__ = ['CrudMixin', 'Undo', 'update_columns']
