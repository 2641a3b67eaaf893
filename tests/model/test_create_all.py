"""create_all / drop_all in foreign-key order, foreign-key cycles, and dropping a referenced table."""
from __future__ import annotations

from typing import Annotated, Optional

import pytest
import sqlglot
from pydantic import Field
from sqlglot import exp

from activerecord import ActiveRecord, Column, create_all, drop_all
from activerecord.backend.impl.mssql.backend import SQLServerBackend
from activerecord.backend.impl.mssql.dialect import SQLServerDialect
from activerecord.backend.impl.mysql.dialect import MySQLDialect
from activerecord.backend.impl.oracle.backend import OracleBackend
from activerecord.backend.impl.oracle.dialect import OracleDialect
from activerecord.backend.impl.pgsql.dialect import PostgreSQLDialect
from activerecord.model.ddl import add_foreign_key_sql, drop_foreign_key_sql
from activerecord.errors import ConfigurationError, IntegrityError


class Author(ActiveRecord):
    __table_name__ = 'ca_authors'
    id: int
    name: Annotated[str, Field(max_length=40)]


class Book(ActiveRecord):
    __table_name__ = 'ca_books'
    id: int
    author_id: Annotated[int, Column(references=Author)]
    title: Annotated[str, Field(max_length=40)]


class Review(ActiveRecord):
    __table_name__ = 'ca_reviews'
    id: int
    book_id: Annotated[int, Column(references=Book)]
    stars: int


class Team(ActiveRecord):
    __table_name__ = 'ca_teams'
    id: int
    captain_id: Annotated[Optional[int], Column(references='ca_players.id')] = None


class Player(ActiveRecord):
    __table_name__ = 'ca_players'
    id: int
    team_id: Annotated[Optional[int], Column(references=Team)] = None


ORDERED = [Author, Book, Review]


def _tables(db) -> set[str]:
    return {name.lower() for name in db.backend.schema.tables()}


def _configure(db, *models: type) -> None:
    db.use(*models, create=False)
    drop_all(list(models))


def test_create_all_follows_foreign_keys_whatever_the_list_order(db):
    _configure(db, *ORDERED)
    create_all([Review, Book, Author])         # every table references one listed after it
    assert {'ca_authors', 'ca_books', 'ca_reviews'} <= _tables(db)
    author = Author.create(name='a')
    book = Book.create(author_id=author.id, title='t')
    Review.create(book_id=book.id, stars=5)
    drop_all([Author, Review, Book])           # reverse foreign-key order, whatever the list order
    assert not {'ca_authors', 'ca_books', 'ca_reviews'} & _tables(db)


def test_a_two_table_cycle_is_closed_afterwards_or_named(db):
    _configure(db, Team, Player)
    if not db.backend.features.alter_add_foreign_key:
        with pytest.raises(ConfigurationError) as caught:
            create_all([Team, Player])
        assert 'cycle Player -> Team -> Player' in str(caught.value)
        assert not {'ca_teams', 'ca_players'} & _tables(db)
        return
    create_all([Player, Team])
    team = Team.create()
    player = Player.create(team_id=team.id)
    team.captain_id = player.id
    team.save()
    team.captain_id = 999_999                  # the closing key exists: a missing parent is refused
    with pytest.raises(IntegrityError):
        team.save()
    drop_all([Team, Player])
    assert not {'ca_teams', 'ca_players'} & _tables(db)


def test_dropping_a_referenced_table_is_an_integrity_error(db):
    _configure(db, Author, Book)
    create_all([Author, Book])
    with pytest.raises(IntegrityError) as caught:
        Author.drop_table()
    assert 'ca_authors' in _tables(db)
    if db.name == 'sqlite':                    # our own check names the referencing table
        assert 'ca_books' in str(caught.value)
    Book.drop_table()
    Author.drop_table()                        # nothing references it any more
    assert 'ca_authors' not in _tables(db)


def test_oracle_and_sql_server_refusals_of_such_a_drop_are_integrity_errors():
    # no server here: the vendor codes their drivers report for it (ORA-02449, SQL Server 3726)
    assert OracleBackend.error_codes['ORA-02449'] is IntegrityError
    assert SQLServerBackend.error_codes[3726] is IntegrityError


@pytest.mark.parametrize('dialect, read', [(OracleDialect, 'oracle'), (SQLServerDialect, 'tsql'),
                                           (PostgreSQLDialect, 'postgres'), (MySQLDialect, 'mysql')])
def test_a_cycles_closing_key_statements_read_as_alter_table(dialect, read):
    # Oracle and SQL Server have no server here: sqlglot reads what create_all/drop_all would send
    add = add_foreign_key_sql(Team, dialect(), 'captain_id')
    drop = drop_foreign_key_sql(Team, dialect(), 'captain_id')
    assert 'ADD CONSTRAINT' in add and 'FOREIGN KEY' in add and 'REFERENCES' in add
    assert 'fk_ca_teams_captain_id' in add and 'fk_ca_teams_captain_id' in drop
    for sql in (add, drop):
        (statement,) = sqlglot.parse(sql, read=read)
        assert isinstance(statement, exp.Alter), sql
