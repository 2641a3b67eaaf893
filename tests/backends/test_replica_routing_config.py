"""Replica routing configuration and positions without servers: one backend per primary, the
replica list and durations checked, MySQL GTID sets kept small."""
from __future__ import annotations

import time

import pytest

from activerecord import ActiveRecord, errors
from activerecord.backend.replication import coalesced, gtid_set, gtid_set_merged, gtid_set_reached

UUID = '3e11fa47-71ca-11e1-9e33-c80aa9429562'
OTHER = 'ad4a4bd6-4d4e-11ee-8c0d-0242ac120002'
PRIMARY = 'postgresql://app@127.0.0.1:1/app'


class Gauge(ActiveRecord):
    id: int | None = None


def test_gtid_set_intervals_are_sorted_and_coalesced() -> None:
    assert coalesced([(7, 9), (1, 3), (4, 5), (2, 2), (11, 11)]) == [(1, 5), (7, 9), (11, 11)]
    assert coalesced([]) == []
    merged = gtid_set_merged(f'{UUID}:1-3:7', f'{UUID}:4-5:9:8,{OTHER}:2')
    assert merged == f'{UUID}:1-5:7-9,{OTHER}:2'
    assert gtid_set_reached(merged, f'{UUID}:1-5:8') and not gtid_set_reached(merged, f'{UUID}:6')


def test_a_thread_marking_many_writes_keeps_one_interval() -> None:
    mark = f'{UUID}:1'
    for sequence in range(2, 3001):
        mark = gtid_set_merged(mark, f'{UUID}:{sequence}')
    assert mark == f'{UUID}:1-3000'
    # gtid_executed of the primary after other sessions' writes too: still merged to one interval
    mark = gtid_set_merged(mark, f'{UUID}:1-3500,{OTHER}:1-10')
    assert gtid_set(mark) == {UUID: [(1, 3500)], OTHER: [(1, 10)]}


@pytest.mark.parametrize('replicas, message', [
    (['postgresql://app@127.0.0.1:2/app', 'postgresql://app@127.0.0.1:2/app'], 'listed twice'),
    (['postgresql://app@127.0.0.1:2/app', 'postgresql://app@127.0.0.1:3/app', 'postgresql://app@127.0.0.1:3/app'],
     r'127.0.0.1:3/app is listed twice'),
    ([PRIMARY], 'is the primary itself'),
])
def test_a_replica_listed_twice_or_equal_to_the_primary_is_refused(replicas: list[str], message: str) -> None:
    with pytest.raises(errors.ConfigurationError, match=message):
        Gauge.configure(PRIMARY, replicas=replicas)


def test_the_default_port_counts_when_replicas_are_compared() -> None:
    with pytest.raises(errors.ConfigurationError, match='is the primary itself'):
        Gauge.configure('postgresql://app@db1/app', replicas=['postgresql://app@DB1:5432/app'])
    with pytest.raises(errors.ConfigurationError, match='listed twice'):
        Gauge.configure('mysql://app@db1/app', replicas=['mysql://app@db2/app', 'mysql://app@db2:3306/app'])


def test_a_host_of_a_multi_host_primary_may_also_be_a_listed_replica() -> None:
    backend = Gauge.configure('postgresql://app@db1:5432,db2:5432/app', replicas=['postgresql://app@db2:5432/app'])
    try:
        assert backend.router is not None and len(backend.router.replicas) == 1
    finally:
        backend.close()


@pytest.mark.parametrize('keyword', ['max_replica_lag', 'replica_check_interval'])
@pytest.mark.parametrize('bad', [0, -1, -0.5, float('nan'), float('inf'), True, '5', None])
def test_lag_and_check_interval_must_be_finite_positive_seconds(keyword: str, bad: object) -> None:
    with pytest.raises(errors.ConfigurationError,
                       match=rf'{keyword}={bad!r}\): expected a finite number of seconds > 0'.replace('(', r'\(')):
        Gauge.configure(PRIMARY, replicas=['postgresql://app@127.0.0.1:2/app'], **{keyword: bad})  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def test_status_reports_a_replica_whose_check_hangs_as_down_without_waiting() -> None:
    backend = Gauge.configure(PRIMARY, replicas=['postgresql://app@127.0.0.1:2/app?connect_timeout=0.3'])
    router = backend.router
    assert router is not None
    replica = router.replicas[0]
    try:
        assert replica.check_timeout == 0.3
        assert [entry['role'] for entry in router.replica_status()] == ['down']   # refused: checked now
        with replica.check_lock:   # as if another reader's check were stuck on a frozen server
            started = time.monotonic()
            entries = router.replica_status()
            assert 0.25 < time.monotonic() - started < 2
        assert [(entry['role'], entry['lag']) for entry in entries] == [('down', None)]
    finally:
        backend.close()
