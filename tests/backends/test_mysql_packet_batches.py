"""insert_many / upsert on MariaDB sized to max_allowed_packet, on a server with a small one.

pymysql writes the values into the statement's text, so a multi-row INSERT must fit in one
packet of max_allowed_packet bytes (read once per backend). Rows too big together go in
several statements of one transaction; a single row bigger than the limit is refused by name
before anything is written.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Iterator, Optional

import pytest

from activerecord import ActiveRecord, errors
from tests.support.servers import ThrowawayMariaDB

pytestmark = pytest.mark.server

PACKET = 256 * 1024


class Document(ActiveRecord):
    __table_name__ = 'ar_packet_documents'
    id: Optional[int] = None
    title: str
    body: str
    data: bytes = b''


class Ledger(ActiveRecord):
    __table_name__ = 'ar_packet_ledger'
    id: Optional[int] = None
    a: Decimal
    b: Decimal
    e: Decimal
    d: Decimal


@pytest.fixture(scope='module')
def small_packets() -> Iterator[ThrowawayMariaDB]:
    with ThrowawayMariaDB(options=[f'--max-allowed-packet={PACKET}']) as server:
        yield server


@pytest.fixture
def documents(small_packets: ThrowawayMariaDB) -> Iterator[type[Document]]:
    Document.configure(f'{small_packets.url}?connect_timeout=5')
    Document.drop_table(if_exists=True)
    Document.create_table()
    yield Document
    Document.drop_table(if_exists=True)
    Document.backend().close()


def inserts_sent(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.name == 'activerecord.sql' and record.getMessage().startswith('INSERT')]


def test_the_limit_is_the_servers_and_is_read_once(documents: type[Document],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    backend = documents.backend()
    with caplog.at_level('DEBUG', logger='activerecord.sql'):
        assert backend.statement_byte_limit() == PACKET
        assert backend.statement_byte_limit() == PACKET
    reads = [record for record in caplog.records if 'max_allowed_packet' in record.getMessage()]
    assert len(reads) == 1


def test_rows_too_big_together_go_in_several_statements(documents: type[Document],
                                                       caplog: pytest.LogCaptureFixture) -> None:
    # 300 rows of ~10 KB of awkward text: about 3 MB, twelve times the packet
    rows = [{'title': f'doc {i}', 'body': ("it's \\ \"quoted\"\n\x1a ünï " * 400)[:10_000] + str(i),
             'data': bytes(range(256)) * 8} for i in range(300)]
    with caplog.at_level('DEBUG', logger='activerecord.sql'):
        assert documents.insert_many(rows) == 300
    sent = inserts_sent(caplog)
    assert len(sent) >= 12
    stored = documents.query().order_by('id').all()
    assert [(doc.title, doc.body, doc.data) for doc in stored] == [(row['title'], row['body'], row['data'])
                                                                 for row in rows]
    # upsert is sized the same way
    changed = [{**row, 'id': doc.id, 'body': row['body'].upper()} for row, doc in zip(rows, stored)]
    caplog.clear()
    with caplog.at_level('DEBUG', logger='activerecord.sql'):
        assert documents.upsert(changed, conflict=['id'], update=['body']) >= 300
    assert len(inserts_sent(caplog)) >= 12
    assert [doc.body for doc in documents.query().order_by('id').all()] == [row['body'] for row in changed]


def test_a_row_bigger_than_the_limit_is_refused_by_name_and_nothing_is_written(documents: type[Document]) -> None:
    rows = [{'title': f'doc {i}', 'body': 'x' * 20_000} for i in range(50)]
    rows[40] = {'title': 'the big one', 'body': 'y' * (PACKET + 1)}
    with pytest.raises(errors.DataError) as caught:
        documents.insert_many(rows)
    message = str(caught.value)
    assert "title='the big one'" in message and 'max_allowed_packet' in message
    assert 'row 40 (counted from 0)' in message
    assert documents.query().count() == 0
    # a row just under the limit still goes in, alone
    assert documents.insert_many([{'title': 'large', 'body': 'z' * (PACKET - 4096)}]) == 1
    assert len(documents.query().where(title='large').one().body) == PACKET - 4096


def test_rows_of_long_decimals_are_sized_by_their_digits(documents: type[Document], small_packets: ThrowawayMariaDB,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    # 1,400 rows of four DECIMAL(65,30) values: ~400 KB of literals, past the 256 KB packet
    backend = documents.backend()
    backend.execute('DROP TABLE IF EXISTS ar_packet_ledger')
    backend.execute('CREATE TABLE ar_packet_ledger (id INT AUTO_INCREMENT PRIMARY KEY, a DECIMAL(65,30), '
                    'b DECIMAL(65,30), e DECIMAL(65,30), d DECIMAL(65,30))')
    try:
        Ledger.configure(f'{small_packets.url}?connect_timeout=5')
        big = Decimal('12345678901234567890123456789012345.123456789012345678901234567890')
        rows = [{'a': big, 'b': -big, 'e': Decimal(f'12345678901234567890123456789012345.{i:030d}'), 'd': -big}
                for i in range(1_400)]
        with caplog.at_level('DEBUG', logger='activerecord.sql'):
            assert Ledger.insert_many(rows) == 1_400
        assert len(inserts_sent(caplog)) >= 2
        assert Ledger.query().count() == 1_400
        last = Decimal(f'12345678901234567890123456789012345.{1_399:030d}')
        assert Ledger.query().where(e=last).one().d == -big
    finally:
        backend.execute('DROP TABLE IF EXISTS ar_packet_ledger')


def test_after_a_statement_too_big_for_the_packet_the_next_one_works(documents: type[Document]) -> None:
    # the server closes the connection after error 1153: the pool must not hand it out again
    backend = documents.backend()
    with pytest.raises(errors.DatabaseError) as caught:
        backend.fetch_value('SELECT LENGTH(?)', ['x' * (PACKET + 1024)])
    assert caught.value.code == 1153
    assert not caught.value.retryable   # the same statement would be too big on any connection
    assert backend.fetch_value('SELECT 1') == 1
    assert documents.insert_many([{'title': 'after', 'body': 'fine'}]) == 1
