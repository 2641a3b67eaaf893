"""Golden SQL that several dialects render to the letter, pinned once: construct -> (sql, params).

A table is named after the dialects whose expected SQL it is part of (golden/sqlite.py,
golden/postgresql.py, tests/backends/test_oracle_sql.py); each of them combines the tables named
after it with its own entries. A construct stands in one place per dialect: when one dialect's
SQL for it changes, move the entry to the files of the dialects that keep it. Reviewed as the
dialect files are: a change here is a change of the SQL of every dialect named.
"""
from __future__ import annotations

from typing import Any, Mapping


def combine(*tables: Mapping[str, Any]) -> dict[str, Any]:
    """One EXPECTED table from disjoint parts (a construct pinned twice is an error, not an override)."""
    combined: dict[str, Any] = {}
    for table in tables:
        twice = sorted(set(combined) & set(table))
        if twice:
            raise AssertionError(f'golden SQL pinned twice for {twice}')
        combined.update(table)
    return combined


#: standard SQL in double-quoted identifiers, which sqlite, postgresql and oracle all send
SQLITE_POSTGRESQL_ORACLE = {
    'eq': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."name" = ?', ('ann',)),
    'ne': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."name" <> ?', ('ann',)),
    'lt_le_gt_ge': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" < ? AND "q_authors"."age" <= ? AND "q_authors"."age" > ? AND "q_authors"."age" >= ?', (1, 2, 3, 4)),
    'eq_none_is_null': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."country" IS NULL', ()),
    'and_or': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" > ? AND ("q_authors"."country" = ? OR "q_authors"."country" = ?)', (1, 'NL', 'DE')),
    'not': ('SELECT "q_authors"."id" FROM "q_authors" WHERE NOT ("q_authors"."age" > ? AND "q_authors"."age" < ?)', (1, 9)),
    'like': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."name" LIKE ?', ('a%',)),
    'not_like': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."name" NOT LIKE ?', ('a%',)),
    'like_escape': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."name" LIKE ? ESCAPE ?', ('a!%%', '!')),
    'startswith': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."name" LIKE ? ESCAPE ?', ('50\\%\\_%', '\\')),
    'in_values': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."id" IN (?, ?, ?)', (1, 2, 3)),
    'not_in_values': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."id" NOT IN (?, ?)', (1, 2)),
    'in_empty': ('SELECT "q_authors"."id" FROM "q_authors" WHERE 1 = 0', ()),
    'in_subquery': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."id" IN (SELECT "q_articles"."author_id" FROM "q_articles" WHERE "q_articles"."views" > ?)', (10,)),
    'in_subquery_default_key': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."manager_id" IN (SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" > ?)', (50,)),
    'is_null': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."country" IS NULL', ()),
    'is_not_null': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."country" IS NOT NULL', ()),
    'between': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" BETWEEN ? AND ?', (18, 65)),
    'not_between': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" NOT BETWEEN ? AND ?', (18, 65)),
    'arithmetic_reflected': ('SELECT "q_authors"."id" FROM "q_authors" WHERE ? - "q_authors"."age" > ? * "q_authors"."id"', (100, 2)),
    'compare_columns': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" > "q_authors"."id"', ()),
    'concat': ('SELECT "q_authors"."name" || ? || "q_authors"."email" AS "label" FROM "q_authors"', ('-',)),
    'functions': ('SELECT LOWER("q_authors"."name") AS "l", LENGTH("q_authors"."email") AS "n", COALESCE("q_authors"."country", ?) AS "c" FROM "q_authors"', ('xx',)),
    'count_star_and_distinct': ('SELECT COUNT(*) AS "n", COUNT(DISTINCT "q_authors"."country") AS "d" FROM "q_authors"', ()),
    'case': ('SELECT CASE WHEN "q_authors"."age" < ? THEN ? WHEN "q_authors"."age" < ? THEN ? ELSE ? END AS "band" FROM "q_authors"', (30, 'young', 50, 'mid', 'old')),
    'cast_type_name': ('SELECT CAST("q_authors"."age" AS NUMERIC(10, 2)) AS "n" FROM "q_authors"', ()),
    'exists': ('SELECT "q_authors"."id" FROM "q_authors" WHERE EXISTS (SELECT "q_articles"."id" FROM "q_articles" WHERE "q_articles"."author_id" = "q_authors"."id")', ()),
    'not_exists': ('SELECT "q_authors"."id" FROM "q_authors" WHERE NOT EXISTS (SELECT "q_articles"."id" FROM "q_articles" WHERE "q_articles"."author_id" = "q_authors"."id")', ()),
    'value_in_select': ('SELECT "q_authors"."id", ? AS "tag" FROM "q_authors"', ('x',)),
    'select_all': ('SELECT "q_authors"."id", "q_authors"."name", "q_authors"."email", "q_authors"."age", "q_authors"."country", "q_authors"."score", "q_authors"."active", "q_authors"."joined", "q_authors"."manager_id" FROM "q_authors"', ()),
    'select_strings': ('SELECT "q_authors"."id", "q_authors"."name" FROM "q_authors"', ()),
    'add_select': ('SELECT "q_categories"."id", "q_categories"."name", "q_categories"."parent_id", "q_categories"."id" * ? AS "double" FROM "q_categories"', (2,)),
    'where_raw': ('SELECT "q_authors"."id" FROM "q_authors" WHERE age > ? AND country = ?', (18, 'NL')),
    'where_keywords': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."country" = ? AND "q_authors"."id" IN (?, ?)', ('NL', 1, 2)),
    'distinct': ('SELECT DISTINCT "q_authors"."country" FROM "q_authors"', ()),
    'order_by': ('SELECT "q_authors"."id" FROM "q_authors" ORDER BY "q_authors"."age" DESC, "q_authors"."name", "q_authors"."id" DESC, "q_authors"."email"', ()),
    'order_nulls': ('SELECT "q_articles"."id" FROM "q_articles" ORDER BY "q_articles"."rating" DESC NULLS LAST, "q_articles"."views" NULLS FIRST', ()),
    'order_by_raw': ('SELECT "q_authors"."id" FROM "q_authors" ORDER BY age % 7', ()),
    'join': ('SELECT "q_articles"."id" FROM "q_articles" JOIN "q_authors" ON "q_articles"."author_id" = "q_authors"."id" WHERE "q_authors"."name" = ?', ('ann',)),
    'left_join': ('SELECT "q_authors"."id", "q_articles"."id" AS "article" FROM "q_authors" LEFT JOIN "q_articles" ON "q_articles"."author_id" = "q_authors"."id"', ()),
    'right_join': ('SELECT "q_articles"."id" FROM "q_articles" RIGHT JOIN "q_categories" ON "q_articles"."category_id" = "q_categories"."id"', ()),
    'full_join': ('SELECT "q_articles"."id" FROM "q_articles" FULL JOIN "q_categories" ON "q_articles"."category_id" = "q_categories"."id"', ()),
    'cross_join': ('SELECT "q_authors"."id", "q_categories"."id" AS "category" FROM "q_authors" CROSS JOIN "q_categories"', ()),
    'group_having': ('SELECT "q_authors"."country", COUNT(*) AS "n" FROM "q_authors" GROUP BY "q_authors"."country" HAVING COUNT(*) > ? ORDER BY "n"', (1,)),
    'count': ('SELECT COUNT(*) AS "value" FROM "q_authors" WHERE "q_authors"."age" > ?', (30,)),
    'avg_min_max': (('SELECT AVG("q_articles"."rating") AS "value" FROM "q_articles"', ()), ('SELECT MIN("q_articles"."rating") AS "value" FROM "q_articles"', ()), ('SELECT MAX("q_articles"."rating") AS "value" FROM "q_articles"', ())),
    'delete_all': ('DELETE FROM "q_articles" WHERE "q_articles"."views" < ?', (10,)),
    'cte': ('WITH "veterans" AS (SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" >= ?) SELECT "q_articles"."id" FROM "q_articles" JOIN "veterans" ON "q_articles"."author_id" = "veterans"."id"', (50,)),
    'window_partition_order': ('SELECT "q_authors"."id", RANK() OVER (PARTITION BY "q_authors"."country" ORDER BY "q_authors"."age" DESC) AS "rk" FROM "q_authors"', ()),
    # an Oracle server rejects this text (SERVER_REJECTS in tests/backends/test_oracle_sql.py)
    'window_frame': ('SELECT "q_articles"."id", SUM("q_articles"."views") OVER (ORDER BY "q_articles"."id" ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS "s", AVG("q_articles"."views") OVER (RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "a" FROM "q_articles"', ()),
    'union': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" < ? UNION SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" > ?', (20, 60)),
    'intersect': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" < ? INTERSECT SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."country" = ?', (20, 'NL')),
    'subquery_in_select': ('SELECT "q_authors"."id", (SELECT COUNT(*) FROM "q_articles" WHERE "q_articles"."author_id" = "q_authors"."id") AS "n" FROM "q_authors"', ()),
    'subquery_comparison': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" > (SELECT AVG("q_authors"."age") FROM "q_authors")', ()),
}

#: LIMIT/OFFSET paging, AS before a table alias, `%`, WITH RECURSIVE and EXCEPT: sqlite and postgresql
SQLITE_POSTGRESQL = {
    'and_or_functions': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" > ? AND "q_authors"."age" < ? OR "q_authors"."active" = ?', (1, 9, True)),
    'arithmetic': ('SELECT ("q_articles"."views" + ?) * ? - "q_articles"."author_id" / ? AS "x", "q_articles"."views" % ? AS "m", -"q_articles"."views" AS "n" FROM "q_articles"', (1, 2, 3, 7)),
    'where_raw_object': ('SELECT "q_authors"."id" FROM "q_authors" WHERE (age > ? OR age < ?) AND "q_authors"."active" = ?', (60, 18, True)),
    'limit': ('SELECT "q_authors"."id" FROM "q_authors" LIMIT ?', (10,)),
    'limit_ordered': ('SELECT "q_authors"."id" FROM "q_authors" ORDER BY "q_authors"."id" LIMIT ?', (10,)),
    'limit_offset': ('SELECT "q_authors"."id" FROM "q_authors" ORDER BY "q_authors"."id" LIMIT ? OFFSET ?', (10, 20)),
    'limit_offset_unordered': ('SELECT "q_authors"."id" FROM "q_authors" LIMIT ? OFFSET ?', (10, 20)),
    'self_join_aliased': ('SELECT "q_authors"."name", "m"."name" AS "manager" FROM "q_authors" JOIN "q_authors" AS "m" ON "q_authors"."manager_id" = "m"."id"', ()),
    'group_by_alias': ('SELECT "q_articles"."views" % ? AS "bucket", COUNT(*) AS "n" FROM "q_articles" GROUP BY 1 HAVING COUNT(*) > ?', (3, 2)),
    'first': ('SELECT "q_authors"."id", "q_authors"."name", "q_authors"."email", "q_authors"."age", "q_authors"."country", "q_authors"."score", "q_authors"."active", "q_authors"."joined", "q_authors"."manager_id" FROM "q_authors" WHERE "q_authors"."age" > ? ORDER BY "q_authors"."id" LIMIT ?', (30, 1)),
    'count_distinct_query': ('SELECT COUNT(*) AS "value" FROM (SELECT DISTINCT "q_authors"."country" FROM "q_authors") AS "subquery"', ()),
    'count_paged': ('SELECT COUNT(*) AS "value" FROM (SELECT "q_authors"."id", "q_authors"."name", "q_authors"."email", "q_authors"."age", "q_authors"."country", "q_authors"."score", "q_authors"."active", "q_authors"."joined", "q_authors"."manager_id" FROM "q_authors" ORDER BY "q_authors"."id" LIMIT ? OFFSET ?) AS "subquery"', (5, 2)),
    'exists_query': ('SELECT 1 AS "one" FROM "q_authors" WHERE "q_authors"."age" > ? LIMIT ?', (30, 1)),
    'sum': ('SELECT SUM("q_articles"."views") AS "value" FROM "q_articles" WHERE "q_articles"."published" = ?', (True,)),
    'sum_paged': ('SELECT SUM("subquery"."value") AS "value" FROM (SELECT "q_articles"."views" AS "value" FROM "q_articles" ORDER BY "q_articles"."id" LIMIT ?) AS "subquery"', (10,)),
    'update_all': ('UPDATE "q_authors" SET "active" = ?, "age" = "q_authors"."age" + ? WHERE "q_authors"."age" > ?', (False, 1, 60)),
    'update_all_joined': ('UPDATE "q_articles" SET "views" = ? WHERE "q_articles"."id" IN (SELECT "subquery"."id" FROM (SELECT "q_articles"."id" FROM "q_articles" JOIN "q_authors" ON "q_articles"."author_id" = "q_authors"."id" WHERE "q_authors"."country" = ?) AS "subquery")', (0, 'NL')),
    'delete_all_limited': ('DELETE FROM "q_articles" WHERE "q_articles"."id" IN (SELECT "subquery"."id" FROM (SELECT "q_articles"."id" FROM "q_articles" ORDER BY "q_articles"."views" LIMIT ?) AS "subquery")', (5,)),
    'cte_recursive': ('WITH RECURSIVE "tree" ("id", "depth") AS (SELECT "q_categories"."id", CAST(? AS BIGINT) AS "depth" FROM "q_categories" WHERE "q_categories"."parent_id" IS NULL UNION ALL SELECT "q_categories"."id", "tree"."depth" + ? AS "depth" FROM "q_categories" JOIN "tree" ON "q_categories"."parent_id" = "tree"."id") SELECT "q_categories"."name", "tree"."depth" FROM "q_categories" JOIN "tree" ON "q_categories"."id" = "tree"."id"', (0, 1)),
    'cte_in_subquery_hoisted': ('WITH "busy" AS (SELECT "q_articles"."author_id" FROM "q_articles" WHERE "q_articles"."views" > ?) SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."id" IN (SELECT "q_articles"."author_id" FROM "busy" AS "q_articles")', (5,)),
    'union_all_ordered_paged': ('SELECT * FROM (SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" < ? UNION ALL SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" > ?) AS "subquery" ORDER BY "id" DESC LIMIT ?', (20, 60, 3)),
    'except': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" < ? EXCEPT SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."country" = ?', (20, 'NL')),
    'mixed_set_operations': ('SELECT * FROM (SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" < ? UNION SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" > ?) AS "m1" INTERSECT SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."active" = ?', (20, 60, True)),
    'union_member_paged': ('SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" < ? UNION SELECT * FROM (SELECT "q_authors"."id" FROM "q_authors" WHERE "q_authors"."age" > ? ORDER BY "q_authors"."id" LIMIT ?) AS "m2"', (20, 60, 2)),
    'subquery_in_from': ('SELECT "q_authors"."id" FROM (SELECT "q_authors"."id", "q_authors"."name", "q_authors"."email", "q_authors"."age", "q_authors"."country", "q_authors"."score", "q_authors"."active", "q_authors"."joined", "q_authors"."manager_id" FROM "q_authors" WHERE "q_authors"."age" > ?) AS "q_authors" WHERE "q_authors"."country" = ?', (40, 'NL')),
    'subquery_join_alias': ('SELECT "q_authors"."name", "stats"."total" FROM "q_authors" JOIN (SELECT "q_articles"."author_id", SUM("q_articles"."views") AS "total" FROM "q_articles" GROUP BY "q_articles"."author_id") AS "stats" ON "stats"."author_id" = "q_authors"."id"', ()),
}
