"""Oracle's SQL (12c Release 2 and later): only what differs from the base dialect.

Identifiers are always double-quoted, so they are case-sensitive exactly as written: the
table `users` of a model is "users", and raw SQL must write "users" (an unquoted users means
USERS). Result labels that come back all upper case (unquoted aliases, COUNT(*)) are lowered
by the backend (folds_to_upper), so rows are keyed by the names users write.
"""
from __future__ import annotations

import datetime
from typing import Any, ClassVar, Sequence

from ....errors import NotSupportedError, ProgrammingError
from ...dialect import Dialect, SQLContext
from ...features import Features
from ...sql_lexer import ORACLE
from ...transaction import IsolationLevel, effective_level
from .types import OracleTypeMap

#: ORA- codes a guarded DDL statement ignores: the object exists already / does not exist
ORA_NAME_IN_USE = -955
ORA_TABLE_MISSING = -942
#: where the last row-limiting clause ended in the SQL being rendered (see render_for_update)
_PAGING_END = 'oracle_paging_end'


def ignoring_error(sqlcode: int) -> str:
    """A ddl_guards template: run the statement, ignoring one expected error (no IF [NOT] EXISTS before 23ai)."""
    return ('BEGIN EXECUTE IMMEDIATE {sql_text}; '
            f'EXCEPTION WHEN OTHERS THEN IF SQLCODE != {sqlcode} THEN RAISE; END IF; END;')


class OracleDialect(Dialect):
    """Oracle: quoted identifiers, OFFSET/FETCH, identity columns, RETURNING INTO, MERGE."""

    name = 'oracle'
    # Schema introspection (backend/schema.py): lower-case labels, `?` bound as the *_params say.
    introspect_tables_sql = 'SELECT table_name AS name FROM user_tables'
    introspect_columns_sql = (
        "SELECT c.column_name AS name, c.data_type || CASE WHEN c.data_type = 'NUMBER' AND c.data_precision "
        "IS NOT NULL THEN '(' || c.data_precision || ',' || NVL(c.data_scale, 0) || ')' WHEN c.data_type IN "
        "('VARCHAR2', 'NVARCHAR2', 'CHAR', 'NCHAR', 'RAW') THEN '(' || c.char_length || ')' END AS sql_type, "
        "CASE WHEN c.nullable = 'Y' THEN 1 ELSE 0 END AS nullable, c.data_default AS column_default, "
        '(SELECT cc.position FROM all_constraints k JOIN all_cons_columns cc ON cc.owner = k.owner '
        "AND cc.constraint_name = k.constraint_name WHERE k.constraint_type = 'P' AND k.owner = c.owner "
        'AND k.table_name = c.table_name AND cc.column_name = c.column_name) AS pk_position, '
        "CASE WHEN c.identity_column = 'YES' THEN 1 ELSE 0 END AS autoincrement FROM all_tab_columns c "
        "WHERE c.owner = COALESCE(?, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) AND c.table_name = ? "
        'ORDER BY c.column_id')
    # The primary key's index is the one its constraint names; LOB indexes are Oracle's own. A
    # DESC or expression key is FUNCTION-BASED with a SYS_NC column: left out (NULL column name).
    introspect_indexes_sql = (
        "SELECT i.index_name AS name, CASE WHEN i.uniqueness = 'UNIQUE' THEN 1 ELSE 0 END AS is_unique, "
        "CASE WHEN i.index_type IN ('NORMAL', 'BITMAP') THEN ic.column_name END AS column_name, "
        "ic.column_position AS position, CASE WHEN ic.descend = 'DESC' THEN 1 ELSE 0 END AS descending "
        'FROM all_indexes i JOIN all_ind_columns ic ON ic.index_owner = i.owner AND ic.index_name = i.index_name '
        "WHERE i.table_owner = COALESCE(?, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) AND i.table_name = ? "
        "AND i.index_type <> 'LOB' AND NOT EXISTS (SELECT 1 FROM all_constraints p WHERE p.owner = i.table_owner "
        "AND p.table_name = i.table_name AND p.constraint_type = 'P' AND p.index_name = i.index_name) "
        'ORDER BY i.index_name, ic.column_position')
    # Oracle has no ON UPDATE action; delete_rule is CASCADE, SET NULL or NO ACTION
    introspect_foreign_keys_sql = (
        'SELECT k.constraint_name AS name, kc.column_name AS column_name, CASE WHEN r.owner = k.owner '
        "THEN r.table_name ELSE r.owner || '.' || r.table_name END AS ref_table, rc.column_name AS ref_column, "
        'kc.position AS position, k.delete_rule AS on_delete, NULL AS on_update FROM all_constraints k '
        'JOIN all_cons_columns kc ON kc.owner = k.owner AND kc.constraint_name = k.constraint_name '
        'JOIN all_constraints r ON r.owner = k.r_owner AND r.constraint_name = k.r_constraint_name '
        'JOIN all_cons_columns rc ON rc.owner = r.owner AND rc.constraint_name = r.constraint_name '
        "AND rc.position = kc.position WHERE k.constraint_type = 'R' "
        "AND k.owner = COALESCE(?, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) AND k.table_name = ? "
        'ORDER BY k.constraint_name, kc.position')
    lexical_rules = ORACLE
    inline_integer_arguments = True   # :p1 and :p2 make two copies of one expression differ
    shared_parameters = True   # :p1 may appear twice: a repeated constant keeps one expression
    features = Features(   # the flags not named here keep Features' defaults
        generated_keys='returning_into', returning=False, multi_row_insert=False, upsert='merge',
        release_savepoint=False, transactional_ddl=False, for_update_nowait=True,
        for_update_skip_locked=True, full_join=True,
        # EXPLAIN PLAN stores the plan in a table: reading it is a second statement (DBMS_XPLAN)
        explain=False, max_parameters=65535, max_in_list=1000,   # ORA-01795: at most 1000 in a list
        isolation_levels=frozenset({IsolationLevel.READ_COMMITTED, IsolationLevel.SERIALIZABLE}),
    )
    type_map_class = OracleTypeMap
    max_identifier_length = 128          # 12.2+; 30 bytes on older servers
    folds_to_upper = True

    # Oracle starts a transaction implicitly: the backend turns the driver's autocommit off.
    begin_template = ''
    begin_with_isolation_template = 'SET TRANSACTION ISOLATION LEVEL {level}'
    begin_read_only_template = 'SET TRANSACTION READ ONLY'
    release_template = None               # Oracle has no RELEASE SAVEPOINT
    # savepoint names are written unquoted (and so case-insensitive): a plain identifier only
    savepoint_name_pattern = r'[A-Za-z][A-Za-z0-9_$#]{0,127}'
    savepoint_name_rule = 'a letter followed by letters, digits, _, $ or #, at most 128 characters'

    autoincrement_column_template = '{name} {type} GENERATED BY DEFAULT ON NULL AS IDENTITY'
    # migrations: Oracle changes a column with MODIFY (...); DDL waits ddl_lock_timeout seconds
    add_column_template = 'ALTER TABLE {table} ADD {column}'
    alter_type_template = 'ALTER TABLE {table} MODIFY ({name} {type})'
    set_not_null_template = 'ALTER TABLE {table} MODIFY ({name} NOT NULL)'
    drop_not_null_template = 'ALTER TABLE {table} MODIFY ({name} NULL)'
    set_default_template = 'ALTER TABLE {table} MODIFY ({name} DEFAULT {default})'
    drop_default_template = 'ALTER TABLE {table} MODIFY ({name} DEFAULT NULL)'
    lock_timeout_templates = ('ALTER SESSION SET ddl_lock_timeout = {seconds}',)
    # one migrator at a time: a DBMS_LOCK user lock in exclusive mode (6), held by the session
    # until released (release_on_commit defaults to FALSE), waited for up to a day; REQUEST
    # answers 0 once held (4: this session holds it already). Not LOCK TABLE: Oracle's DDL
    # commits, which would end the transaction holding a table lock at a migration's first
    # statement. Needs EXECUTE on SYS.DBMS_LOCK (docs/migrations.md).
    migration_lock_sql = ('SELECT CASE DBMS_LOCK.REQUEST(702177969, 6, 86400) WHEN 0 THEN 1 WHEN 4 THEN 1 '
                          'ELSE 0 END AS held FROM DUAL',
                          'SELECT DBMS_LOCK.RELEASE(702177969) AS released FROM DUAL')
    unique_constraint_sql = ("SELECT 1 AS found FROM user_constraints WHERE constraint_type = 'U' "
                             'AND table_name = ? AND constraint_name = ?')
    autoincrement_type = 'NUMBER(19)'
    ddl_guards: ClassVar[dict[str, str]] = {
        'create_table': ignoring_error(ORA_NAME_IN_USE), 'drop_table': ignoring_error(ORA_TABLE_MISSING),
        'create_index': ignoring_error(ORA_NAME_IN_USE)}
    column_type_checks = True             # booleans and JSON are checked columns (see types.py)
    # MERGE: the ON condition in parentheses; the rows come from DUAL (merge_source_sql)
    merge_on_template = 'ON ({condition})'
    # JSON paths (query/documents.py): JSON_VALUE's text of a scalar ('true'/'false' for booleans);
    # its path must be a literal (json_path_literal)
    operator_templates: ClassVar[dict[str, str]] = {
        'json_path': 'JSON_VALUE({0}, {1})', 'json_path_text': 'JSON_VALUE({0}, {1})', 'json_scalar': '{0}',
        # a selected path is its JSON text: JSON_QUERY gives objects and arrays only, so the value is
        # wrapped in an array ('[3]', '["a"]'; '[]' when missing) and the brackets cut off ('' is NULL)
        'json_path_json': ('SUBSTR(JSON_QUERY({0}, {1} WITH WRAPPER), 2, '
                           'LENGTH(JSON_QUERY({0}, {1} WITH WRAPPER)) - 2)'),
        'json_has_key': 'JSON_EXISTS({0}, {1})'}
    json_path_literal = True
    boolean_literals: ClassVar[dict[bool, str]] = {True: '1', False: '0'}
    server_version_sql = "SELECT banner FROM v$version WHERE banner LIKE 'Oracle%'"
    ping_sql = 'SELECT 1 FROM DUAL'

    # -- query constructs ---------------------------------------------------------------
    table_alias_keyword = ' '                 # `FROM "t" AS "x"` is a syntax error in Oracle
    recursive_with_keyword = 'WITH'           # recursive CTEs need no keyword, only a column list
    set_operation_keywords: ClassVar[dict[str, str]] = {
        'union': 'UNION', 'union_all': 'UNION ALL', 'intersect': 'INTERSECT', 'except': 'MINUS'}
    operator_functions: ClassVar[dict[str, str]] = {'%': 'MOD'}
    function_names: ClassVar[dict[str, str]] = {
        'substring': 'SUBSTR', 'char_length': 'LENGTH', 'len': 'LENGTH', 'ceiling': 'CEIL',
        'ifnull': 'NVL', 'isnull': 'NVL', 'random': 'DBMS_RANDOM.VALUE', 'log10': 'LOG10'}
    cast_types: ClassVar[dict[str, str]] = {
        'int': 'NUMBER(19)', 'float': 'BINARY_DOUBLE', 'decimal': 'NUMBER', 'str': 'NVARCHAR2(2000)',
        'text': 'NCLOB', 'date': 'DATE', 'datetime': 'TIMESTAMP(6)', 'time': 'INTERVAL DAY(0) TO SECOND(6)',
        'bool': 'NUMBER(1)'}
    # aware datetimes are TIMESTAMP WITH TIME ZONE: EXTRACT gives their UTC fields, SYS_EXTRACT_UTC their
    # UTC time; DATE '1970-01-04' was a Sunday
    portable_function_templates: ClassVar[dict[str, str]] = {
        **{f'extract_{part}': f'EXTRACT({part.upper()} FROM {{0}})'
           for part in ('year', 'month', 'day', 'hour', 'minute')},
        **{f'extract_{part}_date': f'EXTRACT({part.upper()} FROM CAST({{0}} AS TIMESTAMP))'
           for part in ('hour', 'minute')},
        'extract_second': 'FLOOR(EXTRACT(SECOND FROM {0}))',
        'extract_second_date': '0',
        'extract_dow': "MOD(MOD(TRUNC(CAST(SYS_EXTRACT_UTC({0}) AS DATE)) - DATE '1970-01-04', 7) + 7, 7)",
        'extract_dow_date': "MOD(MOD(TRUNC({0}) - DATE '1970-01-04', 7) + 7, 7)",
        **{f'date_trunc_{unit}': f"FROM_TZ(CAST(TRUNC(SYS_EXTRACT_UTC({{0}}), '{fmt}') AS TIMESTAMP(6)), 'UTC')"
           for unit, fmt in (('year', 'YYYY'), ('month', 'MM'), ('day', 'DD'), ('hour', 'HH24'))},
        **{f'date_trunc_{unit}_date': f"TRUNC({{0}}, '{fmt}')"
           for unit, fmt in (('year', 'YYYY'), ('month', 'MM'), ('day', 'DD'), ('hour', 'DD'))},
        'string_agg': 'LISTAGG({arg}, {sep}) WITHIN GROUP (ORDER BY {order})'}
    text_cast_templates: ClassVar[dict[str, str]] = {
        'datetime': "TO_CHAR(SYS_EXTRACT_UTC({0}), 'YYYY-MM-DD HH24:MI:SS.FF6')", 'date': "TO_CHAR({0}, 'YYYY-MM-DD')",
        'bool': "CASE WHEN ({0}) IS NULL THEN NULL WHEN ({0}) = 1 THEN 'true' ELSE 'false' END"}

    # -- paging -------------------------------------------------------------------------

    def render_paging(self, ctx: SQLContext, limit: int | None, offset: int | None,
                      has_order_by: bool) -> None:
        """OFFSET n ROWS FETCH NEXT m ROWS ONLY (the row-limiting clause of 12c)."""
        if offset:
            ctx.literal(' OFFSET ').param(offset).literal(' ROWS')
        if limit is not None:
            ctx.literal(' FETCH NEXT ' if offset else ' FETCH FIRST ').param(limit).literal(' ROWS ONLY')
        if offset or limit is not None:
            ctx.state[_PAGING_END] = len(ctx.parts)

    def render_for_update(self, ctx: SQLContext, nowait: bool, skip_locked: bool) -> None:
        """FOR UPDATE [NOWAIT | SKIP LOCKED]; refused right after a row-limiting clause (ORA-02014)."""
        if ctx.state.get(_PAGING_END) == len(ctx.parts):
            raise NotSupportedError('oracle cannot lock the rows of a query with limit/offset (ORA-02014); '
                                    'lock by key instead: where(Model.c.id.in_(...)).for_update()')
        super().render_for_update(ctx, nowait, skip_locked)

    # -- transactions -------------------------------------------------------------------

    def begin_statements(self, level: IsolationLevel | None, read_only: bool,
                         features: Features) -> list[str]:
        """Nothing, or one SET TRANSACTION (which must be the transaction's first statement)."""
        actual = None if level is None else effective_level(level, features.isolation_levels, self.name)
        if read_only:
            # A read-only transaction reads one snapshot taken at its start, which is what any
            # isolation level asks of a transaction that writes nothing.
            return [self.begin_read_only_template]
        template = self.begin_with_isolation_template
        return [] if actual is None else [template.format(level=actual.value, access='')]

    # -- DML ----------------------------------------------------------------------------

    def insert_sql(self, table: str, columns: Sequence[str], row_count: int = 1,
                   returning: Sequence[str] = ()) -> str:
        """INSERT of one row; `returning` becomes RETURNING ... INTO ? (out binds, one per column)."""
        if row_count != 1:
            raise NotSupportedError(
                'oracle does not support multi-row INSERT ... VALUES before 23ai (features.multi_row_insert '
                'is False); run the one-row statement with executemany, which sends all rows at once')
        head = f'INSERT INTO {self.quote_table(table)}'
        if columns:
            sql = (f'{head} (' + ', '.join(self.quote(column) for column in columns) + ') VALUES ('
                   + ', '.join(['?'] * len(columns)) + ')')
        elif returning:
            # No DEFAULT VALUES in Oracle: give the generated column its default explicitly.
            sql = f'{head} ({self.quote(returning[0])}) VALUES (DEFAULT)'
        else:
            raise ProgrammingError(f'oracle cannot insert a row of only defaults into {table!r} without '
                                   'naming a column; pass the generated key column as `returning`')
        return sql + self.returning_into_clause(returning)

    def sync_identity_sql(self, table: str, column: str) -> tuple[str, tuple[Any, ...]]:
        """Move the identity past the largest key after explicit keys were inserted.

        Outside a transaction: ALTER TABLE ... START WITH LIMIT VALUE (DDL, which commits, so
        only when nothing is open). Inside one: draw NEXTVAL from the identity's sequence up
        to the largest key (sequences are not transactional), refusing gaps over a million.
        """
        schema, _, name = table.rpartition('.')
        dictionary = ('all_tab_identity_columns WHERE owner = ? AND ' if schema else 'user_tab_identity_columns WHERE ')
        target = (schema, name, column) if schema else (name, column)
        alter = (f'ALTER TABLE {self.quote_table(table)} MODIFY {self.quote(column)} '
                 'GENERATED BY DEFAULT ON NULL AS IDENTITY (START WITH LIMIT VALUE)')
        sql = (
            'DECLARE seq VARCHAR2(128); top NUMBER; nxt NUMBER; BEGIN '
            f'SELECT sequence_name INTO seq FROM {dictionary}table_name = ? AND column_name = ?; '
            f'SELECT NVL(MAX({self.quote(column)}), 0) INTO top FROM {self.quote_table(table)}; '
            f'IF DBMS_TRANSACTION.LOCAL_TRANSACTION_ID IS NULL THEN EXECUTE IMMEDIATE {self.string_literal(alter)}; '
            'ELSE LOOP EXECUTE IMMEDIATE \'SELECT "\' || seq || \'".NEXTVAL FROM DUAL\' INTO nxt; '
            'EXIT WHEN nxt >= top; '
            'IF top - nxt > 1000000 THEN RAISE_APPLICATION_ERROR(-20001, \'the identity is more than a million '
            'behind the largest key: insert explicit keys outside a transaction\'); END IF; '
            'END LOOP; END IF; END;')
        return sql, target

    def returning_into_clause(self, returning: Sequence[str]) -> str:
        """' RETURNING "a", "b" INTO ?, ?' (the backend binds an output variable to each ?)."""
        if not returning:
            return ''
        return (' RETURNING ' + ', '.join(self.quote(column) for column in returning)
                + ' INTO ' + ', '.join(['?'] * len(returning)))

    def merge_source_sql(self, columns: Sequence[str], row_count: int) -> str:
        """One row of bound values selected FROM DUAL: (SELECT ? AS "a", ? AS "b" FROM DUAL) "src"."""
        if row_count != 1:
            raise NotSupportedError(
                'oracle renders an upsert for one row (a UNION of bound rows needs every column typed '
                'alike); run the one-row MERGE with executemany, which sends all rows at once')
        values = ', '.join(f'? AS {self.quote(column)}' for column in columns)
        return f'(SELECT {values} FROM DUAL){self.table_alias_keyword}{self.quote("src")}'

    # -- DDL ----------------------------------------------------------------------------

    def literal_sql(self, value: Any) -> str:
        """A DDL default: typed DATE/TIMESTAMP/INTERVAL literals (a plain string would go through
        the session's NLS formats); '' is refused because Oracle stores it as NULL."""
        if isinstance(value, str) and value == '':
            raise ProgrammingError("oracle stores '' as NULL, so '' cannot be a column default; use None")
        if isinstance(value, datetime.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(datetime.timezone.utc)
                return f"TIMESTAMP '{value:%Y-%m-%d %H:%M:%S.%f} +00:00'"
            return f"TIMESTAMP '{value:%Y-%m-%d %H:%M:%S.%f}'"
        if isinstance(value, datetime.date):
            return f"DATE '{value:%Y-%m-%d}'"
        if isinstance(value, datetime.time):
            return f"INTERVAL '0 {value:%H:%M:%S.%f}' DAY(0) TO SECOND(6)"
        if isinstance(value, datetime.timedelta):
            sign = '-' if value < datetime.timedelta(0) else ''
            value = abs(value)
            hours, rest = divmod(value.seconds, 3600)
            minutes, seconds = divmod(rest, 60)
            return (f"INTERVAL '{sign}{value.days} {hours:02d}:{minutes:02d}:{seconds:02d}.{value.microseconds:06d}'"
                    ' DAY(9) TO SECOND(6)')
        return super().literal_sql(value)

