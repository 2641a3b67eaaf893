"""Golden SQL of the Oracle dialect: every construct of the query, DDL, DML and transaction layers.

Each text was read against the Oracle SQL Language Reference (12c Release 2 and later) before
it was pinned; a change here is a change of the SQL the library sends and needs the same
review. Every statement must also be read by sqlglot's `oracle` dialect as the statement kind it
is (not a fallback command); what sqlglot cannot read is listed in SQLGLOT_GAPS with the reason,
and that list is itself checked (sqlglot must still fail there, and read the parts given).
The query constructs Oracle renders exactly as SQLite and PostgreSQL do are pinned once, in
tests/query/golden/shared.py (SQLITE_POSTGRESQL_ORACLE); QUERY_EXPECTED lists the rest.
"""
from __future__ import annotations

import datetime  # noqa: F401  (golden values)
import re
from decimal import Decimal  # noqa: F401

import pytest

from activerecord.backend.impl.oracle.dialect import OracleDialect
from activerecord.backend.types import ColumnSpec
from activerecord.errors import NotSupportedError, ProgrammingError
from tests.backends.test_oracle_mssql_constructs import OUT, GoldenChecks, plsql_inner_statements  # noqa: F401
from tests.query.golden.shared import SQLITE_POSTGRESQL_ORACLE, combine

READ = 'oracle'

QUERY_EXPECTED = combine(SQLITE_POSTGRESQL_ORACLE, {
    'and_or_functions': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" > ? AND "q_authors"."age" < ? OR "q_authors"."active" = ?', (1, 9, 1)),
    'ilike': ('SELECT "q_authors"."id" FROM "q_authors" WHERE LOWER("q_authors"."name") LIKE LOWER(?)', ('%AN%',)),
    'not_ilike': ('SELECT "q_authors"."id" FROM "q_authors" WHERE LOWER("q_authors"."name") NOT LIKE LOWER(?)', ('%AN%',)),
    'arithmetic': ('SELECT ("q_articles"."views" + ?) * ? - "q_articles"."author_id" / ? AS "x", MOD("q_articles"."views", ?) AS "m", -"q_articles"."views" AS "n" FROM "q_articles"', (1, 2, 3, 7)),
    'bound_through_converter': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."joined" >= ? AND "q_authors"."score" > ?', (datetime.date(2020, 1, 2), Decimal('1.50'))),
    'case_without_else': ('SELECT CASE WHEN "q_authors"."active" = ? THEN ? END AS "flag" FROM "q_authors"', (1, 1)),
    'cast_python_types': ('SELECT CAST("q_authors"."age" AS NVARCHAR2(2000)) AS "s", CAST("q_authors"."score" AS BINARY_DOUBLE) AS "f", CAST("q_authors"."name" AS NUMBER(19)) AS "i" FROM "q_authors"', ()),
    'where_raw_object': ('SELECT "q_authors"."id" FROM "q_authors" WHERE (age > ? OR age < ?) AND "q_authors"."active" = ?', (60, 18, 1)),
    'limit': ('SELECT "q_authors"."id" FROM "q_authors" FETCH FIRST ? ROWS ONLY', (10,)),
    'limit_ordered': ('SELECT "q_authors"."id" FROM "q_authors" ORDER BY "q_authors"."id" FETCH FIRST ? ROWS ONLY', (10,)),
    'limit_offset': ('SELECT "q_authors"."id" FROM "q_authors" ORDER BY "q_authors"."id" OFFSET ? ROWS FETCH NEXT ? ROWS ONLY', (20, 10)),
    'offset_only': ('SELECT "q_authors"."id" FROM "q_authors" ORDER BY "q_authors"."id" OFFSET ? ROWS', (20,)),
    'limit_offset_unordered': ('SELECT "q_authors"."id" FROM "q_authors" OFFSET ? ROWS FETCH NEXT ? ROWS ONLY', (20, 10)),
    'self_join_aliased': ('SELECT "q_authors"."name", "m"."name" AS "manager" FROM "q_authors" JOIN "q_authors" "m" ON "q_authors"."manager_id" = "m"."id"', ()),
    # the modulus is bound once and written :p1 in both places, so Oracle sees one expression
    'group_by_alias': ('SELECT MOD("q_articles"."views", ?) AS "bucket", COUNT(*) AS "n" FROM "q_articles" GROUP BY MOD("q_articles"."views", ?/*same -1*/) HAVING COUNT(*) > ?', (3, 2)),
    'first': ('SELECT "q_authors"."id", "q_authors"."name", "q_authors"."email", "q_authors"."age", "q_authors"."country", "q_authors"."score", "q_authors"."active", "q_authors"."joined", "q_authors"."manager_id" FROM "q_authors" WHERE "q_authors"."age" > ? ORDER BY "q_authors"."id" FETCH FIRST ? ROWS ONLY', (30, 1)),
    'count_distinct_query': ('SELECT COUNT(*) AS "value" FROM (SELECT DISTINCT "q_authors"."country" FROM "q_authors") "subquery"', ()),
    'count_paged': ('SELECT COUNT(*) AS "value" FROM (SELECT "q_authors"."id", "q_authors"."name", "q_authors"."email", "q_authors"."age", "q_authors"."country", "q_authors"."score", "q_authors"."active", "q_authors"."joined", "q_authors"."manager_id" FROM "q_authors" ORDER BY "q_authors"."id" OFFSET ? ROWS FETCH NEXT ? ROWS ONLY) "subquery"', (2, 5)),
    'exists_query': ('SELECT 1 AS "one" FROM "q_authors" WHERE "q_authors"."age" > ? FETCH FIRST ? ROWS ONLY', (30, 1)),
    'sum': ('SELECT SUM("q_articles"."views") AS "value" FROM "q_articles" WHERE "q_articles"."published" = ?', (1,)),
    'sum_paged': ('SELECT SUM("subquery"."value") AS "value" FROM (SELECT "q_articles"."views" AS "value" FROM "q_articles" ORDER BY "q_articles"."id" FETCH FIRST ? ROWS ONLY) "subquery"', (10,)),
    'update_all': ('UPDATE "q_authors" SET "active" = ?, "age" = "q_authors"."age" + ? WHERE "q_authors"."age" > ?', (0, 1, 60)),
    'update_all_joined': ('UPDATE "q_articles" SET "views" = ? WHERE "q_articles"."id" IN (SELECT "subquery"."id" FROM (SELECT "q_articles"."id" FROM "q_articles" JOIN "q_authors" ON "q_articles"."author_id" = "q_authors"."id" WHERE "q_authors"."country" = ?) "subquery")', (0, 'NL')),
    'delete_all_limited': ('DELETE FROM "q_articles" WHERE "q_articles"."id" IN (SELECT "subquery"."id" FROM (SELECT "q_articles"."id" FROM "q_articles" ORDER BY "q_articles"."views" FETCH FIRST ? ROWS ONLY) "subquery")', (5,)),
    'for_update': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."id" = ? FOR UPDATE', (1,)),
    'for_update_nowait': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."id" = ? FOR UPDATE NOWAIT', (1,)),
    'for_update_skip_locked': NotSupportedError,
    'cte_recursive': ('WITH "tree" ("id", "depth") AS (SELECT "q_categories"."id", CAST(? AS NUMBER(19)) AS "depth" FROM "q_categories" WHERE "q_categories"."parent_id" IS NULL UNION ALL SELECT "q_categories"."id", "tree"."depth" + ? AS "depth" FROM "q_categories" JOIN "tree" ON "q_categories"."parent_id" = "tree"."id") SELECT "q_categories"."name", "tree"."depth" FROM "q_categories" JOIN "tree" ON "q_categories"."id" = "tree"."id"', (0, 1)),
    'cte_in_subquery_hoisted': ('WITH "busy" AS (SELECT "q_articles"."author_id" FROM "q_articles" WHERE "q_articles"."views" > ?) SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."id" IN (SELECT "q_articles"."author_id" FROM "busy" "q_articles")', (5,)),
    'union_all_ordered_paged': ('SELECT * FROM (SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" < ? UNION ALL SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" > ?) "subquery" ORDER BY "id" DESC FETCH FIRST ? ROWS ONLY', (20, 60, 3)),
    'except': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" < ? MINUS SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."country" = ?', (20, 'NL')),
    'mixed_set_operations': ('SELECT * FROM (SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" < ? UNION SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" > ?) "m1" INTERSECT SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."active" = ?', (20, 60, 1)),
    'union_member_paged': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" < ? UNION SELECT * FROM (SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" > ? ORDER BY "q_authors"."id" FETCH FIRST ? ROWS ONLY) "m2"', (20, 60, 2)),
    'subquery_in_from': ('SELECT "q_authors"."id" FROM (SELECT "q_authors"."id", "q_authors"."name", "q_authors"."email", "q_authors"."age", "q_authors"."country", "q_authors"."score", "q_authors"."active", "q_authors"."joined", "q_authors"."manager_id" FROM "q_authors" WHERE "q_authors"."age" > ?) "q_authors" WHERE "q_authors"."country" = ?', (40, 'NL')),
    'subquery_join_alias': ('SELECT "q_authors"."name", "stats"."total" FROM "q_authors" JOIN (SELECT "q_articles"."author_id", SUM("q_articles"."views") AS "total" FROM "q_articles" GROUP BY "q_articles"."author_id") "stats" ON "stats"."author_id" = "q_authors"."id"', ()),
    'avg_decimal_grouped': ('SELECT "q_authors"."country", AVG("q_authors"."score") AS "a", AVG(DISTINCT "q_authors"."score") AS "d" FROM "q_authors" GROUP BY "q_authors"."country"', ()),
    'avg_decimal_window': ('SELECT "q_authors"."id", AVG("q_authors"."score") OVER (PARTITION BY "q_authors"."country" ORDER BY "q_authors"."id") AS "r" FROM "q_authors"', ()),
})

STATEMENT_EXPECTED = {
    'create_table_every_type': [('CREATE TABLE "every_types" (\n  "id" NUMBER(19) GENERATED BY DEFAULT ON NULL AS IDENTITY PRIMARY KEY,\n  "flag" NUMBER(1) NOT NULL CHECK ("flag" IN (0, 1)),\n  "count" NUMBER(19) NOT NULL,\n  "ratio" BINARY_DOUBLE NOT NULL,\n  "price" NUMBER(12, 2) NOT NULL,\n  "amount" NUMBER NOT NULL,\n  "code" NVARCHAR2(20) NOT NULL UNIQUE,\n  "title" NCLOB NOT NULL,\n  "body" NCLOB NOT NULL,\n  "data" BLOB NOT NULL,\n  "happened_at" TIMESTAMP(6) WITH TIME ZONE NOT NULL,\n  "local_at" TIMESTAMP(6) NOT NULL,\n  "day" DATE NOT NULL,\n  "at_time" INTERVAL DAY(0) TO SECOND(6) NOT NULL,\n  "duration" INTERVAL DAY(9) TO SECOND(6) NOT NULL,\n  "token" VARCHAR2(36) NOT NULL,\n  "meta" NCLOB NOT NULL CHECK ("meta" IS JSON),\n  "tags" NCLOB NOT NULL CHECK ("tags" IS JSON),\n  "mood" NVARCHAR2(50) NOT NULL,\n  "level" NUMBER(10) NOT NULL,\n  "note" NVARCHAR2(200),\n  "rank" NUMBER(19) NOT NULL,\n  "enabled" NUMBER(1) DEFAULT 1 NOT NULL CHECK ("enabled" IN (0, 1)),\n  "label" NVARCHAR2(10) DEFAULT \'it\'\'s\' NOT NULL,\n  "since" DATE DEFAULT DATE \'2024-01-31\' NOT NULL,\n  "starts" TIMESTAMP(6) WITH TIME ZONE DEFAULT TIMESTAMP \'2024-01-31 08:30:00.000000 +00:00\' NOT NULL,\n  "fee" NUMBER(6, 2) DEFAULT 1.50 NOT NULL\n)', ()), ('CREATE INDEX "ix_every_types_rank" ON "every_types" ("rank")', ())],
    'create_table_if_not_exists': [('BEGIN EXECUTE IMMEDIATE \'CREATE TABLE "accounts" (\n  "id" NUMBER(19) GENERATED BY DEFAULT ON NULL AS IDENTITY PRIMARY KEY,\n  "email" NVARCHAR2(80) NOT NULL UNIQUE,\n  "name" NVARCHAR2(40) NOT NULL\n)\'; EXCEPTION WHEN OTHERS THEN IF SQLCODE != -955 THEN RAISE; END IF; END;', ())],
    'create_table_composite_key': [('CREATE TABLE "memberships" (\n  "user_id" NUMBER(19) NOT NULL,\n  "group_id" NUMBER(19) NOT NULL,\n  "role" NVARCHAR2(20) NOT NULL,\n  PRIMARY KEY ("user_id", "group_id")\n)', ())],
    'drop_table': [('DROP TABLE "accounts"', ())],
    'drop_table_if_exists': [('BEGIN EXECUTE IMMEDIATE \'DROP TABLE "accounts"\'; EXCEPTION WHEN OTHERS THEN IF SQLCODE != -942 THEN RAISE; END IF; END;', ())],
    'create_unique_index': [('CREATE UNIQUE INDEX "ux_accounts_name" ON "accounts" ("name", "email")', ())],
    'create_index_if_not_exists': [('BEGIN EXECUTE IMMEDIATE \'CREATE INDEX "ix_accounts_name" ON "accounts" ("name")\'; EXCEPTION WHEN OTHERS THEN IF SQLCODE != -955 THEN RAISE; END IF; END;', ())],
    'insert_one': [('INSERT INTO "accounts" ("email", "name") VALUES (?, ?)', ('ann@example.com', 'Ann'))],
    'insert_returning_key': [('INSERT INTO "accounts" ("email", "name") VALUES (?, ?) RETURNING "id" INTO ?', ('ann@example.com', 'Ann', OUT))],
    'insert_defaults_returning_key': [('INSERT INTO "accounts" ("id") VALUES (DEFAULT) RETURNING "id" INTO ?', (OUT,))],
    'insert_three_rows': NotSupportedError,
    'insert_explicit_identity': [('INSERT INTO "accounts" ("id", "email") VALUES (?, ?)', (7, 'ann@example.com'))],
    'upsert_one': [('MERGE INTO "accounts" "tgt" USING (SELECT ? AS "email", ? AS "name" FROM DUAL) "src" ON ("tgt"."email" = "src"."email") WHEN MATCHED THEN UPDATE SET "tgt"."name" = "src"."name" WHEN NOT MATCHED THEN INSERT ("email", "name") VALUES ("src"."email", "src"."name")', ('ann@example.com', 'Ann'))],
    'upsert_three_rows': NotSupportedError,
    'upsert_insert_only': [('MERGE INTO "accounts" "tgt" USING (SELECT ? AS "email", ? AS "name" FROM DUAL) "src" ON ("tgt"."email" = "src"."email") WHEN NOT MATCHED THEN INSERT ("email", "name") VALUES ("src"."email", "src"."name")', ('ann@example.com', 'Ann'))],
    'sync_identity': [('DECLARE seq VARCHAR2(128); top NUMBER; nxt NUMBER; BEGIN SELECT sequence_name INTO seq FROM user_tab_identity_columns WHERE table_name = ? AND column_name = ?; SELECT NVL(MAX("id"), 0) INTO top FROM "accounts"; IF DBMS_TRANSACTION.LOCAL_TRANSACTION_ID IS NULL THEN EXECUTE IMMEDIATE \'ALTER TABLE "accounts" MODIFY "id" GENERATED BY DEFAULT ON NULL AS IDENTITY (START WITH LIMIT VALUE)\'; ELSE LOOP EXECUTE IMMEDIATE \'SELECT "\' || seq || \'".NEXTVAL FROM DUAL\' INTO nxt; EXIT WHEN nxt >= top; IF top - nxt > 1000000 THEN RAISE_APPLICATION_ERROR(-20001, \'the identity is more than a million behind the largest key: insert explicit keys outside a transaction\'); END IF; END LOOP; END IF; END;', ('accounts', 'id'))],
    'model_select_by_key': [('SELECT "id", "email", "name" FROM "accounts" WHERE "id" = ?', (7,))],
    'model_update': [('UPDATE "accounts" SET "name" = ? WHERE "id" = ?', ('Bo', 7))],
    'model_delete': [('DELETE FROM "accounts" WHERE "id" = ?', (7,))],
    'model_insert_generated_key': [('INSERT INTO "accounts" ("email", "name") VALUES (?, ?) RETURNING "id" INTO ?', ('ann@example.com', 'Ann', OUT))],
    'model_insert_explicit_key': [('INSERT INTO "accounts" ("id", "email", "name") VALUES (?, ?, ?)', (7, 'ann@example.com', 'Ann'))],
    'begin': [],
    'begin_read_uncommitted': [('SET TRANSACTION ISOLATION LEVEL READ COMMITTED', ())],
    'begin_read_committed': [('SET TRANSACTION ISOLATION LEVEL READ COMMITTED', ())],
    'begin_repeatable_read': [('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', ())],
    'begin_snapshot': NotSupportedError,
    'begin_serializable': [('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', ())],
    'begin_read_only': [('SET TRANSACTION READ ONLY', ())],
    'begin_read_only_serializable': [('SET TRANSACTION READ ONLY', ())],
    'commit': [('COMMIT', ())],
    'rollback': [('ROLLBACK', ())],
    'savepoint': [('SAVEPOINT ar_sp_1', ())],
    'rollback_to_savepoint': [('ROLLBACK TO SAVEPOINT ar_sp_1', ())],
    'release_savepoint': [],
}

#: constructs whose golden SQL is what the query layer renders today but an Oracle server
#: rejects (reported to the query layer; docs/backends/oracle.md lists them)
SERVER_REJECTS = {
    'window_frame': 'ORA-30485: a ROWS/RANGE frame needs ORDER BY in the window (AVG ... OVER (RANGE ...))',
}


def _without_interval_precision(sql: str) -> list[str]:
    return [re.sub(r'INTERVAL DAY\(\d+\) TO SECOND\(\d+\)', 'INTERVAL DAY TO SECOND', sql)]


#: construct -> (why sqlglot cannot read it, the parts of it that sqlglot reads instead)
SQLGLOT_GAPS = {
    'create_table_every_type': ('sqlglot reads no precision in INTERVAL DAY(p) TO SECOND(s)', _without_interval_precision),
    'create_table_if_not_exists': ('PL/SQL block (no IF NOT EXISTS before 23ai): the DDL inside is read', plsql_inner_statements),
    'drop_table_if_exists': ('PL/SQL block: the DDL inside is read', plsql_inner_statements),
    'create_index_if_not_exists': ('PL/SQL block: the DDL inside is read', plsql_inner_statements),
    'sync_identity': ('PL/SQL block with dynamic SQL built at run time', None),
    'savepoint': ('sqlglot reads SAVEPOINT x as an alias expression, not a statement', None),
}


class TestOracleGolden(GoldenChecks):
    """The golden checks (test_oracle_mssql_constructs.GoldenChecks) on Oracle's tables."""

    dialect_class = OracleDialect
    read = READ
    query_expected = QUERY_EXPECTED
    statement_expected = STATEMENT_EXPECTED
    sqlglot_gaps = SQLGLOT_GAPS
    server_rejects = SERVER_REJECTS
    refused_savepoint_names = ('s1; COMMIT', '"quoted"', '1st', '')
    longest_string = (2000, 'NVARCHAR2(2000)', 'NCLOB')
    wide_decimal_refusal = 'max_digits=39 does not fit Oracle NUMBER'
    note_query = ('SELECT "notes"."id", "notes"."text" FROM "notes" WHERE "notes"."text" = ? FETCH FIRST ? ROWS ONLY',
                  ('x', 2))


@pytest.fixture(scope='module')
def dialect() -> OracleDialect:
    return OracleDialect()


# -- rules that are not one construct ----------------------------------------------------------

def test_identifiers_are_quoted_exactly_as_written(dialect: OracleDialect) -> None:
    assert dialect.quote('users') == '"users"'          # lower case stays lower case: "users" is not USERS
    assert dialect.quote('Order Items') == '"Order Items"'
    assert dialect.quote('say "hi"') == '"say ""hi"""'
    assert dialect.quote_table('app.users') == '"app"."users"'
    assert dialect.quote('x' * 128) == '"' + 'x' * 128 + '"'
    with pytest.raises(ProgrammingError, match='longer than 128'):
        dialect.quote('x' * 129)


def test_result_labels_in_upper_case_come_back_lower_case() -> None:
    assert OracleDialect.folds_to_upper is True


def test_ddl_defaults_are_typed_literals_and_empty_text_is_refused(dialect: OracleDialect) -> None:
    assert dialect.literal_sql(datetime.time(7, 5, 3, 120)) == "INTERVAL '0 07:05:03.000120' DAY(0) TO SECOND(6)"
    assert dialect.literal_sql(datetime.timedelta(days=-1, seconds=3600)) == \
        "INTERVAL '-0 23:00:00.000000' DAY(9) TO SECOND(6)"
    assert dialect.literal_sql(datetime.datetime(2024, 5, 1, 12)) == "TIMESTAMP '2024-05-01 12:00:00.000000'"
    assert dialect.literal_sql(True) == '1'
    with pytest.raises(ProgrammingError, match="stores '' as NULL"):
        dialect.literal_sql('')


def test_a_locked_query_with_limit_is_refused_but_a_locked_subquery_is_not(dialect: OracleDialect) -> None:
    from tests.query.models import Author as A
    with pytest.raises(NotSupportedError, match='ORA-02014'):
        A.query().select(A.c.id).limit(3).for_update().to_sql(dialect)
    sql, params = A.query().select(A.c.id).where(
        A.c.id.in_(A.query().select(A.c.id).order_by('id').limit(3))).for_update().to_sql(dialect)
    assert sql.endswith('FETCH FIRST ? ROWS ONLY) FOR UPDATE') and params == (3,)


def test_type_map_converters_round_trip(dialect: OracleDialect) -> None:
    type_map = dialect.type_map
    cases = [
        (bool, True, 1), (bool, False, 0),
        (datetime.time, datetime.time(23, 59, 58, 999999), datetime.timedelta(hours=23, minutes=59, seconds=58,
                                                                                microseconds=999999)),
        (dict, {'k': [1, 'é']}, '{"k":[1,"é"]}'),
        (datetime.datetime, datetime.datetime(2024, 3, 1, 12, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
         datetime.datetime(2024, 3, 1, 10)),
    ]
    for python_type, value, stored in cases:
        spec = ColumnSpec(python_type)
        assert type_map.to_db(spec)(value) == stored
        back = type_map.from_db(spec)(stored)
        assert back == value and type(back) is type(value)
    # DATE comes back from the driver as a datetime: the date is kept
    assert type_map.from_db(ColumnSpec(datetime.date))(datetime.datetime(2024, 2, 29, 0, 0)) == datetime.date(2024, 2, 29)
    # raw parameters: a bool becomes 0/1 for NUMBER(1)
    assert type_map.adapt_params([True, 'x', False]) == [1, 'x', 0]
