"""Golden SQL of the SQL Server dialect: every construct of the query, DDL, DML and transaction layers.

Each text was read against the Transact-SQL reference (SQL Server 2016 and later) before it was
pinned; a change here is a change of the SQL the library sends and needs the same review. Every
statement must also be read by sqlglot's `tsql` dialect as the statement kind it is (not a
fallback command); what sqlglot cannot read is listed in SQLGLOT_GAPS with the reason, and that
list is itself checked (sqlglot must still fail there, and read the parts given).
"""
from __future__ import annotations

import datetime  # noqa: F401  (golden values)
import re
from decimal import Decimal  # noqa: F401

import pytest

from activerecord.backend.impl.mssql.dialect import SQLServerDialect
from activerecord.backend.placeholders import count_placeholders
from activerecord.backend.types import ColumnSpec
from activerecord.errors import NotSupportedError, ProgrammingError
from tests.backends.test_oracle_mssql_constructs import GoldenChecks, split_batch, sqlglot_statements

READ = 'tsql'

QUERY_EXPECTED = {
    'eq': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[name] = ?', ('ann',)),
    'ne': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[name] <> ?', ('ann',)),
    'lt_le_gt_ge': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] < ? AND [q_authors].[age] <= ? AND [q_authors].[age] > ? AND [q_authors].[age] >= ?', (1, 2, 3, 4)),
    'eq_none_is_null': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[country] IS NULL', ()),
    'and_or': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] > ? AND ([q_authors].[country] = ? OR [q_authors].[country] = ?)', (1, 'NL', 'DE')),
    'and_or_functions': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] > ? AND [q_authors].[age] < ? OR [q_authors].[active] = ?', (1, 9, True)),
    'not': ('SELECT [q_authors].[id] FROM [q_authors] WHERE NOT ([q_authors].[age] > ? AND [q_authors].[age] < ?)', (1, 9)),
    'like': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[name] LIKE ?', ('a%',)),
    'not_like': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[name] NOT LIKE ?', ('a%',)),
    'like_escape': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[name] LIKE ? ESCAPE ?', ('a!%%', '!')),
    'startswith': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[name] LIKE ? ESCAPE ?', ('50\\%\\_%', '\\')),
    'ilike': ('SELECT [q_authors].[id] FROM [q_authors] WHERE LOWER([q_authors].[name]) LIKE LOWER(?)', ('%AN%',)),
    'not_ilike': ('SELECT [q_authors].[id] FROM [q_authors] WHERE LOWER([q_authors].[name]) NOT LIKE LOWER(?)', ('%AN%',)),
    'in_values': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[id] IN (?, ?, ?)', (1, 2, 3)),
    'not_in_values': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[id] NOT IN (?, ?)', (1, 2)),
    'in_empty': ('SELECT [q_authors].[id] FROM [q_authors] WHERE 1 = 0', ()),
    'in_subquery': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[id] IN (SELECT [q_articles].[author_id] FROM [q_articles] WHERE [q_articles].[views] > ?)', (10,)),
    'in_subquery_default_key': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[manager_id] IN (SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] > ?)', (50,)),
    'is_null': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[country] IS NULL', ()),
    'is_not_null': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[country] IS NOT NULL', ()),
    'between': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] BETWEEN ? AND ?', (18, 65)),
    'not_between': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] NOT BETWEEN ? AND ?', (18, 65)),
    'arithmetic': ('SELECT ([q_articles].[views] + ?) * ? - [q_articles].[author_id] / ? AS [x], [q_articles].[views] % ? AS [m], -[q_articles].[views] AS [n] FROM [q_articles]', (1, 2, 3, 7)),
    'arithmetic_reflected': ('SELECT [q_authors].[id] FROM [q_authors] WHERE ? - [q_authors].[age] > ? * [q_authors].[id]', (100, 2)),
    'compare_columns': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] > [q_authors].[id]', ()),
    'bound_through_converter': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[joined] >= ? AND [q_authors].[score] > ?', (datetime.date(2020, 1, 2), Decimal('1.50'))),
    'concat': ('SELECT CONCAT([q_authors].[name], ?, [q_authors].[email]) AS [label] FROM [q_authors]', ('-',)),
    'functions': ('SELECT LOWER([q_authors].[name]) AS [l], LEN([q_authors].[email]) AS [n], COALESCE([q_authors].[country], ?) AS [c] FROM [q_authors]', ('xx',)),
    'count_star_and_distinct': ('SELECT COUNT(*) AS [n], COUNT(DISTINCT [q_authors].[country]) AS [d] FROM [q_authors]', ()),
    'case': ('SELECT CASE WHEN [q_authors].[age] < ? THEN ? WHEN [q_authors].[age] < ? THEN ? ELSE ? END AS [band] FROM [q_authors]', (30, 'young', 50, 'mid', 'old')),
    'case_without_else': ('SELECT CASE WHEN [q_authors].[active] = ? THEN ? END AS [flag] FROM [q_authors]', (True, 1)),
    'cast_python_types': ('SELECT CAST([q_authors].[age] AS NVARCHAR(4000)) AS [s], CAST([q_authors].[score] AS FLOAT) AS [f], CAST([q_authors].[name] AS BIGINT) AS [i] FROM [q_authors]', ()),
    'cast_type_name': ('SELECT CAST([q_authors].[age] AS NUMERIC(10, 2)) AS [n] FROM [q_authors]', ()),
    'exists': ('SELECT [q_authors].[id] FROM [q_authors] WHERE EXISTS (SELECT [q_articles].[id] FROM [q_articles] WHERE [q_articles].[author_id] = [q_authors].[id])', ()),
    'not_exists': ('SELECT [q_authors].[id] FROM [q_authors] WHERE NOT EXISTS (SELECT [q_articles].[id] FROM [q_articles] WHERE [q_articles].[author_id] = [q_authors].[id])', ()),
    'value_in_select': ('SELECT [q_authors].[id], ? AS [tag] FROM [q_authors]', ('x',)),
    'select_all': ('SELECT [q_authors].[id], [q_authors].[name], [q_authors].[email], [q_authors].[age], [q_authors].[country], [q_authors].[score], [q_authors].[active], [q_authors].[joined], [q_authors].[manager_id] FROM [q_authors]', ()),
    'select_strings': ('SELECT [q_authors].[id], [q_authors].[name] FROM [q_authors]', ()),
    'add_select': ('SELECT [q_categories].[id], [q_categories].[name], [q_categories].[parent_id], [q_categories].[id] * ? AS [double] FROM [q_categories]', (2,)),
    'where_raw': ('SELECT [q_authors].[id] FROM [q_authors] WHERE age > ? AND country = ?', (18, 'NL')),
    'where_raw_object': ('SELECT [q_authors].[id] FROM [q_authors] WHERE (age > ? OR age < ?) AND [q_authors].[active] = ?', (60, 18, True)),
    'where_keywords': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[country] = ? AND [q_authors].[id] IN (?, ?)', ('NL', 1, 2)),
    'distinct': ('SELECT DISTINCT [q_authors].[country] FROM [q_authors]', ()),
    'order_by': ('SELECT [q_authors].[id] FROM [q_authors] ORDER BY [q_authors].[age] DESC, [q_authors].[name], [q_authors].[id] DESC, [q_authors].[email]', ()),
    'order_nulls': ('SELECT [q_articles].[id] FROM [q_articles] ORDER BY CASE WHEN [q_articles].[rating] IS NULL THEN 1 ELSE 0 END, [q_articles].[rating] DESC, CASE WHEN [q_articles].[views] IS NULL THEN 0 ELSE 1 END, [q_articles].[views]', ()),
    'order_by_raw': ('SELECT [q_authors].[id] FROM [q_authors] ORDER BY age % 7', ()),
    'limit': ('SELECT TOP (?) [q_authors].[id] FROM [q_authors]', (10,)),
    'limit_ordered': ('SELECT TOP (?) [q_authors].[id] FROM [q_authors] ORDER BY [q_authors].[id]', (10,)),
    'limit_offset': ('SELECT [q_authors].[id] FROM [q_authors] ORDER BY [q_authors].[id] OFFSET ? ROWS FETCH NEXT ? ROWS ONLY', (20, 10)),
    'offset_only': ('SELECT [q_authors].[id] FROM [q_authors] ORDER BY [q_authors].[id] OFFSET ? ROWS', (20,)),
    'limit_offset_unordered': ('SELECT [q_authors].[id] FROM [q_authors] ORDER BY (SELECT NULL) OFFSET ? ROWS FETCH NEXT ? ROWS ONLY', (20, 10)),
    'join': ('SELECT [q_articles].[id] FROM [q_articles] JOIN [q_authors] ON [q_articles].[author_id] = [q_authors].[id] WHERE [q_authors].[name] = ?', ('ann',)),
    'left_join': ('SELECT [q_authors].[id], [q_articles].[id] AS [article] FROM [q_authors] LEFT JOIN [q_articles] ON [q_articles].[author_id] = [q_authors].[id]', ()),
    'right_join': ('SELECT [q_articles].[id] FROM [q_articles] RIGHT JOIN [q_categories] ON [q_articles].[category_id] = [q_categories].[id]', ()),
    'full_join': ('SELECT [q_articles].[id] FROM [q_articles] FULL JOIN [q_categories] ON [q_articles].[category_id] = [q_categories].[id]', ()),
    'cross_join': ('SELECT [q_authors].[id], [q_categories].[id] AS [category] FROM [q_authors] CROSS JOIN [q_categories]', ()),
    'self_join_aliased': ('SELECT [q_authors].[name], [m].[name] AS [manager] FROM [q_authors] JOIN [q_authors] AS [m] ON [q_authors].[manager_id] = [m].[id]', ()),
    'group_having': ('SELECT [q_authors].[country], COUNT(*) AS [n] FROM [q_authors] GROUP BY [q_authors].[country] HAVING COUNT(*) > ? ORDER BY [n]', (1,)),
    # SQL Server rejects this text (SERVER_REJECTS)
    'group_by_alias': ('SELECT [q_articles].[views] % ? AS [bucket], COUNT(*) AS [n] FROM [q_articles] GROUP BY [q_articles].[views] % ? HAVING COUNT(*) > ?', (3, 3, 2)),
    'first': ('SELECT TOP (?) [q_authors].[id], [q_authors].[name], [q_authors].[email], [q_authors].[age], [q_authors].[country], [q_authors].[score], [q_authors].[active], [q_authors].[joined], [q_authors].[manager_id] FROM [q_authors] WHERE [q_authors].[age] > ? ORDER BY [q_authors].[id]', (1, 30)),
    'count': ('SELECT COUNT(*) AS [value] FROM [q_authors] WHERE [q_authors].[age] > ?', (30,)),
    'count_distinct_query': ('SELECT COUNT(*) AS [value] FROM (SELECT DISTINCT [q_authors].[country] FROM [q_authors]) AS [subquery]', ()),
    'count_paged': ('SELECT COUNT(*) AS [value] FROM (SELECT [q_authors].[id], [q_authors].[name], [q_authors].[email], [q_authors].[age], [q_authors].[country], [q_authors].[score], [q_authors].[active], [q_authors].[joined], [q_authors].[manager_id] FROM [q_authors] ORDER BY [q_authors].[id] OFFSET ? ROWS FETCH NEXT ? ROWS ONLY) AS [subquery]', (2, 5)),
    'exists_query': ('SELECT TOP (?) 1 AS [one] FROM [q_authors] WHERE [q_authors].[age] > ?', (1, 30)),
    'sum': ('SELECT SUM([q_articles].[views]) AS [value] FROM [q_articles] WHERE [q_articles].[published] = ?', (True,)),
    'avg_min_max': (('SELECT AVG([q_articles].[rating]) AS [value] FROM [q_articles]', ()), ('SELECT MIN([q_articles].[rating]) AS [value] FROM [q_articles]', ()), ('SELECT MAX([q_articles].[rating]) AS [value] FROM [q_articles]', ())),
    'sum_paged': ('SELECT SUM([subquery].[value]) AS [value] FROM (SELECT TOP (?) [q_articles].[views] AS [value] FROM [q_articles] ORDER BY [q_articles].[id]) AS [subquery]', (10,)),
    'update_all': ('UPDATE [q_authors] SET [active] = ?, [age] = [q_authors].[age] + ? WHERE [q_authors].[age] > ?', (False, 1, 60)),
    'update_all_joined': ('UPDATE [q_articles] SET [views] = ? WHERE [q_articles].[id] IN (SELECT [subquery].[id] FROM (SELECT [q_articles].[id] FROM [q_articles] JOIN [q_authors] ON [q_articles].[author_id] = [q_authors].[id] WHERE [q_authors].[country] = ?) AS [subquery])', (0, 'NL')),
    'delete_all': ('DELETE FROM [q_articles] WHERE [q_articles].[views] < ?', (10,)),
    'delete_all_limited': ('DELETE FROM [q_articles] WHERE [q_articles].[id] IN (SELECT [subquery].[id] FROM (SELECT TOP (?) [q_articles].[id] FROM [q_articles] ORDER BY [q_articles].[views]) AS [subquery])', (5,)),
    'for_update': ('SELECT [q_authors].[id] FROM [q_authors] WITH (UPDLOCK, ROWLOCK) WHERE [q_authors].[id] = ?', (1,)),
    'for_update_nowait': ('SELECT [q_authors].[id] FROM [q_authors] WITH (UPDLOCK, ROWLOCK, NOWAIT) WHERE [q_authors].[id] = ?', (1,)),
    'for_update_skip_locked': ('SELECT TOP (?) [q_authors].[id] FROM [q_authors] WITH (UPDLOCK, ROWLOCK, READPAST) ORDER BY [q_authors].[id]', (5,)),
    'cte': ('WITH [veterans] AS (SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] >= ?) SELECT [q_articles].[id] FROM [q_articles] JOIN [veterans] ON [q_articles].[author_id] = [veterans].[id]', (50,)),
    'cte_recursive': ('WITH [tree] ([id], [depth]) AS (SELECT [q_categories].[id], CAST(? AS BIGINT) AS [depth] FROM [q_categories] WHERE [q_categories].[parent_id] IS NULL UNION ALL SELECT [q_categories].[id], [tree].[depth] + ? AS [depth] FROM [q_categories] JOIN [tree] ON [q_categories].[parent_id] = [tree].[id]) SELECT [q_categories].[name], [tree].[depth] FROM [q_categories] JOIN [tree] ON [q_categories].[id] = [tree].[id]', (0, 1)),
    'cte_in_subquery_hoisted': ('WITH [busy] AS (SELECT [q_articles].[author_id] FROM [q_articles] WHERE [q_articles].[views] > ?) SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[id] IN (SELECT [q_articles].[author_id] FROM [busy] AS [q_articles])', (5,)),
    'window_partition_order': ('SELECT [q_authors].[id], RANK() OVER (PARTITION BY [q_authors].[country] ORDER BY [q_authors].[age] DESC) AS [rk] FROM [q_authors]', ()),
    'avg_decimal_grouped': ('SELECT [q_authors].[country], AVG([q_authors].[score]) AS [a], AVG(DISTINCT [q_authors].[score]) AS [d] FROM [q_authors] GROUP BY [q_authors].[country]', ()),
    'avg_decimal_window': ('SELECT [q_authors].[id], AVG([q_authors].[score]) OVER (PARTITION BY [q_authors].[country] ORDER BY [q_authors].[id]) AS [r] FROM [q_authors]', ()),
    # SQL Server rejects this text (SERVER_REJECTS)
    'window_frame': ('SELECT [q_articles].[id], SUM([q_articles].[views]) OVER (ORDER BY [q_articles].[id] ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS [s], AVG([q_articles].[views]) OVER (RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS [a] FROM [q_articles]', ()),
    'union': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] < ? UNION SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] > ?', (20, 60)),
    'union_all_ordered_paged': ('SELECT TOP (?) * FROM (SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] < ? UNION ALL SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] > ?) AS [subquery] ORDER BY [id] DESC', (3, 20, 60)),
    'intersect': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] < ? INTERSECT SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[country] = ?', (20, 'NL')),
    'except': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] < ? EXCEPT SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[country] = ?', (20, 'NL')),
    'mixed_set_operations': ('SELECT * FROM (SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] < ? UNION SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] > ?) AS [m1] INTERSECT SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[active] = ?', (20, 60, True)),
    'union_member_paged': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] < ? UNION SELECT * FROM (SELECT TOP (?) [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] > ? ORDER BY [q_authors].[id]) AS [m2]', (20, 2, 60)),
    'subquery_in_from': ('SELECT [q_authors].[id] FROM (SELECT [q_authors].[id], [q_authors].[name], [q_authors].[email], [q_authors].[age], [q_authors].[country], [q_authors].[score], [q_authors].[active], [q_authors].[joined], [q_authors].[manager_id] FROM [q_authors] WHERE [q_authors].[age] > ?) AS [q_authors] WHERE [q_authors].[country] = ?', (40, 'NL')),
    'subquery_join_alias': ('SELECT [q_authors].[name], [stats].[total] FROM [q_authors] JOIN (SELECT [q_articles].[author_id], SUM([q_articles].[views]) AS [total] FROM [q_articles] GROUP BY [q_articles].[author_id]) AS [stats] ON [stats].[author_id] = [q_authors].[id]', ()),
    'subquery_in_select': ('SELECT [q_authors].[id], (SELECT COUNT(*) FROM [q_articles] WHERE [q_articles].[author_id] = [q_authors].[id]) AS [n] FROM [q_authors]', ()),
    'subquery_comparison': ('SELECT [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] > (SELECT AVG([q_authors].[age]) FROM [q_authors])', ()),
}

STATEMENT_EXPECTED = {
    'create_table_every_type': [("CREATE TABLE [every_types] (\n  [id] BIGINT IDENTITY(1, 1) PRIMARY KEY,\n  [flag] BIT NOT NULL,\n  [count] BIGINT NOT NULL,\n  [ratio] FLOAT NOT NULL,\n  [price] DECIMAL(12, 2) NOT NULL,\n  [amount] DECIMAL(38, 10) NOT NULL,\n  [code] NVARCHAR(20) NOT NULL UNIQUE,\n  [title] NVARCHAR(MAX) NOT NULL,\n  [body] NVARCHAR(MAX) NOT NULL,\n  [data] VARBINARY(MAX) NOT NULL,\n  [happened_at] DATETIMEOFFSET(6) NOT NULL,\n  [local_at] DATETIME2(6) NOT NULL,\n  [day] DATE NOT NULL,\n  [at_time] TIME(6) NOT NULL,\n  [duration] BIGINT NOT NULL,\n  [token] UNIQUEIDENTIFIER NOT NULL,\n  [meta] NVARCHAR(MAX) NOT NULL CHECK (ISJSON([meta]) = 1),\n  [tags] NVARCHAR(MAX) NOT NULL CHECK (ISJSON([tags]) = 1),\n  [mood] NVARCHAR(50) NOT NULL,\n  [level] INT NOT NULL,\n  [note] NVARCHAR(200),\n  [rank] BIGINT NOT NULL,\n  [enabled] BIT DEFAULT 1 NOT NULL,\n  [label] NVARCHAR(10) DEFAULT N'it''s' NOT NULL,\n  [since] DATE DEFAULT '2024-01-31' NOT NULL,\n  [starts] DATETIMEOFFSET(6) DEFAULT '2024-01-31T08:30:00+00:00' NOT NULL,\n  [fee] DECIMAL(6, 2) DEFAULT 1.50 NOT NULL\n)", ()), ('CREATE INDEX [ix_every_types_rank] ON [every_types] ([rank])', ())],
    'create_table_if_not_exists': [("IF OBJECT_ID(N'[accounts]', N'U') IS NULL CREATE TABLE [accounts] (\n  [id] BIGINT IDENTITY(1, 1) PRIMARY KEY,\n  [email] NVARCHAR(80) NOT NULL UNIQUE,\n  [name] NVARCHAR(40) NOT NULL\n)", ())],
    'create_table_composite_key': [('CREATE TABLE [memberships] (\n  [user_id] BIGINT NOT NULL,\n  [group_id] BIGINT NOT NULL,\n  [role] NVARCHAR(20) NOT NULL,\n  PRIMARY KEY ([user_id], [group_id])\n)', ())],
    'drop_table': [('DROP TABLE [accounts]', ())],
    'drop_table_if_exists': [("IF OBJECT_ID(N'[accounts]', N'U') IS NOT NULL DROP TABLE [accounts]", ())],
    'create_unique_index': [('CREATE UNIQUE INDEX [ux_accounts_name] ON [accounts] ([name], [email])', ())],
    'create_index_if_not_exists': [("IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'ix_accounts_name' AND object_id = OBJECT_ID(N'[accounts]')) CREATE INDEX [ix_accounts_name] ON [accounts] ([name])", ())],
    'insert_one': [('INSERT INTO [accounts] ([email], [name]) VALUES (?, ?)', ('ann@example.com', 'Ann'))],
    'insert_returning_key': [('INSERT INTO [accounts] ([email], [name]) OUTPUT INSERTED.[id] VALUES (?, ?)', ('ann@example.com', 'Ann'))],
    'insert_defaults_returning_key': [('INSERT INTO [accounts] OUTPUT INSERTED.[id] DEFAULT VALUES', ())],
    'insert_three_rows': [('INSERT INTO [accounts] ([email], [name]) VALUES (?, ?), (?, ?), (?, ?)', ('ann@example.com', 'Ann', 'ann@example.com', 'Ann', 'ann@example.com', 'Ann'))],
    'insert_explicit_identity': [('SET IDENTITY_INSERT [accounts] ON; INSERT INTO [accounts] ([id], [email]) VALUES (?, ?); SET IDENTITY_INSERT [accounts] OFF', (7, 'ann@example.com'))],
    'upsert_one': [('MERGE INTO [accounts] WITH (HOLDLOCK) AS [tgt] USING (VALUES (?, ?)) AS [src] ([email], [name]) ON [tgt].[email] = [src].[email] WHEN MATCHED THEN UPDATE SET [tgt].[name] = [src].[name] WHEN NOT MATCHED THEN INSERT ([email], [name]) VALUES ([src].[email], [src].[name]);', ('ann@example.com', 'Ann'))],
    'upsert_three_rows': [('MERGE INTO [accounts] WITH (HOLDLOCK) AS [tgt] USING (VALUES (?, ?), (?, ?), (?, ?)) AS [src] ([email], [name]) ON [tgt].[email] = [src].[email] WHEN MATCHED THEN UPDATE SET [tgt].[name] = [src].[name] WHEN NOT MATCHED THEN INSERT ([email], [name]) VALUES ([src].[email], [src].[name]);', ('ann@example.com', 'Ann', 'ann@example.com', 'Ann', 'ann@example.com', 'Ann'))],
    'upsert_insert_only': [('MERGE INTO [accounts] WITH (HOLDLOCK) AS [tgt] USING (VALUES (?, ?)) AS [src] ([email], [name]) ON [tgt].[email] = [src].[email] WHEN NOT MATCHED THEN INSERT ([email], [name]) VALUES ([src].[email], [src].[name]);', ('ann@example.com', 'Ann'))],
    'sync_identity': [],
    'model_select_by_key': [('SELECT [id], [email], [name] FROM [accounts] WHERE [id] = ?', (7,))],
    'model_update': [('UPDATE [accounts] SET [name] = ? WHERE [id] = ?', ('Bo', 7))],
    'model_delete': [('DELETE FROM [accounts] WHERE [id] = ?', (7,))],
    'model_insert_generated_key': [('INSERT INTO [accounts] ([email], [name]) OUTPUT INSERTED.[id] VALUES (?, ?)', ('ann@example.com', 'Ann'))],
    'model_insert_explicit_key': [('SET IDENTITY_INSERT [accounts] ON; INSERT INTO [accounts] ([id], [email], [name]) VALUES (?, ?, ?); SET IDENTITY_INSERT [accounts] OFF', (7, 'ann@example.com', 'Ann'))],
    'begin': [('BEGIN TRANSACTION', ())],
    'begin_read_uncommitted': [('SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED; BEGIN TRANSACTION', ())],
    'begin_read_committed': [('SET TRANSACTION ISOLATION LEVEL READ COMMITTED; BEGIN TRANSACTION', ())],
    'begin_repeatable_read': [('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; BEGIN TRANSACTION', ())],
    'begin_snapshot': [('SET TRANSACTION ISOLATION LEVEL SNAPSHOT; BEGIN TRANSACTION', ())],
    'begin_serializable': [('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; BEGIN TRANSACTION', ())],
    'begin_read_only': NotSupportedError,
    'begin_read_only_serializable': NotSupportedError,
    'commit': [('COMMIT TRANSACTION; SET TRANSACTION ISOLATION LEVEL READ COMMITTED', ())],
    'rollback': [('IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION; SET TRANSACTION ISOLATION LEVEL READ COMMITTED', ())],
    'savepoint': [('SAVE TRANSACTION ar_sp_1', ())],
    'rollback_to_savepoint': [('ROLLBACK TRANSACTION ar_sp_1', ())],
    'release_savepoint': [],
}

#: constructs whose golden SQL is what the query layer renders today but SQL Server rejects
#: (reported to the query layer; docs/backends/sqlserver.md lists them)
SERVER_REJECTS = {
    'group_by_alias': 'error 8120: the select list and GROUP BY bind the modulus as two parameters, so '
                      'the two expressions differ to SQL Server',
    'window_frame': 'a ROWS/RANGE frame needs ORDER BY in the OVER clause (AVG ... OVER (RANGE ...))',
}

#: construct -> (why sqlglot cannot read it, the parts of it that sqlglot reads instead)
SQLGLOT_GAPS = {
    'insert_defaults_returning_key': ('sqlglot reads no OUTPUT clause before DEFAULT VALUES',
                                      lambda sql: [re.sub(r' OUTPUT INSERTED\.\[\w+\]', '', sql)]),
    'insert_explicit_identity': ('sqlglot does not know SET IDENTITY_INSERT', lambda sql: split_batch(sql)[1:2]),
    'model_insert_explicit_key': ('sqlglot does not know SET IDENTITY_INSERT', lambda sql: split_batch(sql)[1:2]),
    'begin_read_uncommitted': ('sqlglot knows no READ UNCOMMITTED option of SET TRANSACTION',
                               lambda sql: split_batch(sql)[1:]),
    'begin_snapshot': ('sqlglot knows no SNAPSHOT option of SET TRANSACTION', lambda sql: split_batch(sql)[1:]),
    'savepoint': ('sqlglot does not know SAVE TRANSACTION', None),
}


class TestSQLServerGolden(GoldenChecks):
    """The golden checks (test_oracle_mssql_constructs.GoldenChecks) on SQL Server's tables."""

    dialect_class = SQLServerDialect
    read = READ
    query_expected = QUERY_EXPECTED
    statement_expected = STATEMENT_EXPECTED
    sqlglot_gaps = SQLGLOT_GAPS
    server_rejects = SERVER_REJECTS
    refused_savepoint_names = ('s1; COMMIT', '[quoted]', '1st', 'x' * 33, '')
    longest_string = (4000, 'NVARCHAR(4000)', 'NVARCHAR(MAX)')
    wide_decimal_refusal = 'max_digits=39 does not fit SQL Server DECIMAL'
    note_query = ('SELECT TOP (?) [notes].[id], [notes].[text] FROM [notes] WHERE [notes].[text] = ?', (2, 'x'))


@pytest.fixture(scope='module')
def dialect() -> SQLServerDialect:
    return SQLServerDialect()


# -- rules that are not one construct ----------------------------------------------------------

def test_identifiers_are_bracket_quoted(dialect: SQLServerDialect) -> None:
    assert dialect.quote('users') == '[users]'
    assert dialect.quote('a]b[c') == '[a]]b[c]'
    assert dialect.quote_table('dbo.users') == '[dbo].[users]'
    with pytest.raises(ProgrammingError, match='longer than 128'):
        dialect.quote('x' * 129)


def test_top_follows_each_select_of_a_nested_query(dialect: SQLServerDialect) -> None:
    from tests.query.models import Author as A
    inner = A.query().select(A.c.id).where(A.c.age > 30).order_by('age').limit(2)
    sql, params = A.query().select(A.c.id).where(A.c.id.in_(inner)).order_by('id').limit(3).to_sql(dialect)
    assert sql == ('SELECT TOP (?) [q_authors].[id] FROM [q_authors] WHERE [q_authors].[id] IN '
                   '(SELECT TOP (?) [q_authors].[id] FROM [q_authors] WHERE [q_authors].[age] > ? '
                   'ORDER BY [q_authors].[age]) ORDER BY [q_authors].[id]')
    assert params == (3, 2, 30)
    paged_inner = A.query().select(A.c.id).order_by('age').limit(2).offset(4)
    sql, params = A.query().select(A.c.id).where(A.c.id.in_(paged_inner)).limit(3).to_sql(dialect)
    assert sql == ('SELECT TOP (?) [q_authors].[id] FROM [q_authors] WHERE [q_authors].[id] IN '
                   '(SELECT [q_authors].[id] FROM [q_authors] ORDER BY [q_authors].[age] '
                   'OFFSET ? ROWS FETCH NEXT ? ROWS ONLY)')
    assert params == (3, 4, 2)


def test_paging_without_the_top_hook_still_limits(dialect: SQLServerDialect) -> None:
    from activerecord.backend.dialect import SQLContext
    ctx = SQLContext(dialect)
    ctx.literal('SELECT [a] FROM [t]')
    dialect.render_paging(ctx, 5, None, False)
    assert ctx.finish() == ('SELECT [a] FROM [t] ORDER BY (SELECT NULL) OFFSET ? ROWS FETCH NEXT ? ROWS ONLY', (0, 5))


def test_more_than_1000_rows_insert_through_a_derived_table(dialect: SQLServerDialect) -> None:
    sql = dialect.insert_sql('accounts', ['email', 'name'], 1001, returning=['id'])
    assert sql.startswith('INSERT INTO [accounts] ([email], [name]) OUTPUT INSERTED.[id] SELECT [email], [name] '
                          'FROM (VALUES (?, ?), (?, ?)')
    assert sql.endswith(', (?, ?)) AS [rows] ([email], [name])')
    assert count_placeholders(sql) == 2002
    sqlglot_statements(sql, READ)
    assert ' VALUES (?, ?), ' in dialect.insert_sql('accounts', ['email', 'name'], 1000)
    assert 'SELECT' not in dialect.insert_sql('accounts', ['email', 'name'], 1000)


def test_ddl_defaults_are_unicode_and_iso_literals(dialect: SQLServerDialect) -> None:
    assert dialect.literal_sql('ü') == "N'ü'"
    assert dialect.literal_sql(datetime.time(7, 5, 3)) == "'07:05:03'"
    assert dialect.literal_sql(datetime.datetime(2024, 5, 1, 14, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))) \
        == "'2024-05-01T12:00:00+00:00'"
    assert dialect.literal_sql(False) == '0'


def test_type_map_converters_round_trip(dialect: SQLServerDialect) -> None:
    import pytds
    type_map = dialect.type_map
    bound = type_map.to_db(ColumnSpec(bytes))(b'\x00\xff')
    assert isinstance(bound, pytds.Binary) and bound == b'\x00\xff'
    assert type_map.adapt_params([b'ab', 'ab'])[0].__class__ is pytds.Binary
    instant = datetime.datetime(2024, 3, 1, 12, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    stored = type_map.to_db(ColumnSpec(datetime.datetime))(instant)
    assert stored == instant and stored.utcoffset() == datetime.timedelta(0)
    assert type_map.from_db(ColumnSpec(datetime.datetime))(instant) == instant
    trim = type_map.from_db(ColumnSpec(Decimal))
    assert str(trim(Decimal('1.5000000000'))) == '1.5' and str(trim(Decimal('100.0000000000'))) == '100'
    assert type_map.to_db(ColumnSpec(dict))({'k': 1}) == '{"k":1}'
    assert type_map.to_db(ColumnSpec(__import__('uuid').UUID)) is None      # UNIQUEIDENTIFIER binds a UUID


def test_read_only_transactions_are_refused(dialect: SQLServerDialect) -> None:
    with pytest.raises(NotSupportedError, match='mssql does not support read-only transactions'):
        dialect.begin_statements(None, True, dialect.features)
