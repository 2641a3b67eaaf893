"""Golden SQL for the postgresql dialect: construct name (golden/cases.py) -> (sql, params).

Reviewed by hand against the database's documentation; a change here is a change of the SQL
the library sends, so it needs the same review. The constructs it renders exactly like other
dialects are pinned once in shared.py (the tables named after it); its own SQL is listed here.
"""
import datetime  # noqa: F401
from decimal import Decimal  # noqa: F401

from activerecord.errors import NotSupportedError  # noqa: F401

from .shared import SQLITE_POSTGRESQL, SQLITE_POSTGRESQL_ORACLE, combine

EXPECTED = combine(SQLITE_POSTGRESQL_ORACLE, SQLITE_POSTGRESQL, {
    'ilike': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."name" ILIKE ?', ('%AN%',)),
    'not_ilike': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."name" NOT ILIKE ?', ('%AN%',)),
    'bound_through_converter': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."joined" >= ? AND "q_authors"."score" > ?', (datetime.date(2020, 1, 2), Decimal('1.50'))),
    'case_without_else': ('SELECT CASE WHEN "q_authors"."active" = ? THEN CAST(? AS BIGINT) END AS "flag" FROM "q_authors"', (True, 1)),
    'cast_python_types': ('SELECT CAST("q_authors"."age" AS TEXT) AS "s", CAST("q_authors"."score" AS DOUBLE PRECISION) AS "f", CAST("q_authors"."name" AS BIGINT) AS "i" FROM "q_authors"', ()),
    'offset_only': ('SELECT "q_authors"."id" FROM "q_authors" ORDER BY "q_authors"."id" LIMIT ALL OFFSET ?', (20,)),
    'for_update': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."id" = ? FOR UPDATE', (1,)),
    'for_update_nowait': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."id" = ? FOR UPDATE NOWAIT', (1,)),
    'for_update_skip_locked': ('SELECT "q_authors"."id" FROM "q_authors" ORDER BY "q_authors"."id" LIMIT ? FOR UPDATE SKIP LOCKED', (5,)),
    'avg_decimal_grouped': ('SELECT "q_authors"."country", ROUND(TRUNC(SUM("q_authors"."score"), 25) / COUNT("q_authors"."score"), 6) AS "a", ROUND(TRUNC(SUM(DISTINCT "q_authors"."score"), 25) / COUNT(DISTINCT "q_authors"."score"), 6) AS "d" FROM "q_authors" GROUP BY "q_authors"."country"', ()),
    'avg_decimal_window': ('SELECT "q_authors"."id", ROUND(TRUNC(SUM("q_authors"."score") OVER (PARTITION BY "q_authors"."country" ORDER BY "q_authors"."id"), 25) / COUNT("q_authors"."score") OVER (PARTITION BY "q_authors"."country" ORDER BY "q_authors"."id"), 6) AS "r" FROM "q_authors"', ()),
})
