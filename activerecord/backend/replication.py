"""Replication positions: how a database says how far a primary has written and a replica replayed.

Read-your-writes routing (routing.py) records the primary's position right after a write and
sends the writer's later reads only to a replica whose replayed position contains it. The SQL and
the comparison differ per database, so each is one `ReplicationPositions` value a dialect names.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class ReplicationPositions:
    """One database's replication position SQL and how two positions compare."""

    #: on the primary, in the writer's session right after its write or COMMIT: the position
    written_sql: str
    #: on a replica: the position it has replayed (applied, so visible to its readers)
    replayed_sql: str
    #: on a replica: seconds it is behind (0 when caught up); NULL/no row: not replicating
    lag_sql: str
    #: the column of lag_sql's row that holds the seconds (None: the first column)
    lag_column: str | None
    #: (replayed, needed) -> whether the replica has replayed everything `needed` names
    reached: Callable[[str, str], bool]
    #: (older, newer) -> one position naming both writes
    merged: Callable[[str, str], str]
    #: on a replica, with parameters (position, seconds): wait until it has replayed the position
    #: or the seconds have passed, checking and waiting in one round trip (None: the database has
    #: no such function, so the router polls replayed_sql instead)
    wait_sql: str | None = None
    #: what wait_sql returns once the position is reached (anything else: the wait timed out)
    wait_reached: int = 0
    #: lag_sql's row -> whether the replica receives nothing from its primary now (its lag
    #: figure then stays low while it falls behind: the router counts the time since as lag)
    detached: Callable[[dict[str, Any]], bool] | None = None
    #: on each new replica session: make it refuse writes (a function a SELECT calls may write;
    #: MariaDB/MySQL read_only=1 does not stop a SUPER/root user, a session setting does)
    read_only_session_sql: tuple[str, ...] = ()
    #: SQLSTATEs with which a replica cancels a read that holds up its replay (nothing changed:
    #: the read may run again on the primary)
    conflict_sqlstates: frozenset[str] = frozenset()


def io_thread_stopped(column: str) -> Callable[[dict[str, Any]], bool]:
    """detached() of SHOW SLAVE/REPLICA STATUS: its I/O thread is stopped or reconnecting."""
    return lambda row: row.get(column) in ('No', 'Connecting')


# -- PostgreSQL: WAL LSNs 'X/Y' (two 32-bit hex halves) --------------------------------------

def lsn_value(lsn: str) -> int:
    """'16/B374D848' -> the 64-bit WAL position."""
    high, _, low = lsn.partition('/')
    return (int(high, 16) << 32) | int(low, 16)


def lsn_reached(replayed: str, needed: str) -> bool:
    """Whether the replayed LSN is at or past the needed one."""
    return lsn_value(replayed) >= lsn_value(needed)


def lsn_merged(older: str, newer: str) -> str:
    """The later of two LSNs."""
    return newer if lsn_value(newer) >= lsn_value(older) else older


# With synchronous_commit on (or local, remote_write, remote_apply) COMMIT returned after its
# record was flushed, so the flush position contains it; it is a tighter target than the insert
# position, which already counts WAL of other sessions' running transactions. With it off COMMIT
# returns before the flush: the insert position, never the write position pg_current_wal_lsn().
# The setting read is the session's: a transaction that turned it off with SET LOCAL is recorded
# at the session's setting (a standby may then lack it for up to 3 x wal_writer_delay).
# The lag is 0 while everything received has been replayed (a restarted standby reports the
# received position from the start of its WAL segment, behind the replayed one): the replay
# timestamp of an idle, caught-up standby is the primary's last commit, which may be hours old.
# That 0 also holds for a standby cut off from its primary, so `streaming` says whether a WAL
# receiver streams; its status is NULL for a user without pg_read_all_stats, and then a running
# receiver counts as streaming (no receiver at all still counts as detached).
POSTGRESQL_WAL = ReplicationPositions(
    written_sql=("SELECT (CASE WHEN current_setting('synchronous_commit') = 'off' THEN pg_current_wal_insert_lsn() "
                 'ELSE pg_current_wal_flush_lsn() END)::text'),
    replayed_sql='SELECT pg_last_wal_replay_lsn()::text',
    lag_sql=('SELECT CASE WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0 '
             'ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END AS lag, '
             "EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE COALESCE(status, 'streaming') = 'streaming') "
             'AS streaming'),
    lag_column='lag', reached=lsn_reached, merged=lsn_merged,   # 15 has no server-side wait
    detached=lambda row: not row.get('streaming'),
    read_only_session_sql=('SET default_transaction_read_only = on',),
    # a hot standby cancels a query that holds up replay longer than max_standby_streaming_delay
    # ("conflict with recovery"): 40001, or 40P01 when it waited on a buffer pin (a deadlock)
    conflict_sqlstates=frozenset({'40001', '40P01'}))


# -- MariaDB: GTIDs 'domain-server-seq' (a list, one per replication domain) -------------------

def mariadb_gtids(text: str) -> dict[int, tuple[int, int]]:
    """'0-1-100,1-2-7' -> {domain: (server, seq)}."""
    found: dict[int, tuple[int, int]] = {}
    for part in text.replace('\n', '').split(','):
        part = part.strip()
        if part:
            domain, server, seq = (int(piece) for piece in part.split('-'))
            found[domain] = (server, seq)
    return found


def mariadb_reached(replayed: str, needed: str) -> bool:
    """Whether, in every domain of `needed`, the replica's sequence number is at least as high
    (gtid_strict_mode: sequence numbers only grow within a domain)."""
    have = mariadb_gtids(replayed)
    return all(domain in have and have[domain][1] >= seq for domain, (_, seq) in mariadb_gtids(needed).items())


def mariadb_merged(older: str, newer: str) -> str:
    """Per domain, the higher sequence number of the two lists."""
    merged = mariadb_gtids(older)
    for domain, (server, seq) in mariadb_gtids(newer).items():
        if domain not in merged or merged[domain][1] <= seq:
            merged[domain] = (server, seq)
    return ','.join(f'{domain}-{server}-{seq}' for domain, (server, seq) in sorted(merged.items()))


MARIADB_GTID = ReplicationPositions(
    written_sql='SELECT @@last_gtid', replayed_sql='SELECT @@gtid_slave_pos',
    lag_sql='SHOW SLAVE STATUS', lag_column='Seconds_Behind_Master',
    reached=mariadb_reached, merged=mariadb_merged,
    wait_sql='SELECT MASTER_GTID_WAIT(?, ?)', wait_reached=0,   # -1: timed out
    detached=io_thread_stopped('Slave_IO_Running'),
    read_only_session_sql=('SET SESSION TRANSACTION READ ONLY',))


# -- MySQL: GTID sets 'uuid:1-5:7,uuid2:1-3' --------------------------------------------------

def gtid_set(text: str) -> dict[str, list[tuple[int, int]]]:
    """'uuid:1-5:7' -> {uuid: [(1, 5), (7, 7)]}."""
    found: dict[str, list[tuple[int, int]]] = {}
    for part in text.replace('\n', '').split(','):
        pieces = part.strip().split(':')
        if not pieces[0]:
            continue
        intervals = found.setdefault(pieces[0].lower(), [])
        for interval in pieces[1:]:
            first, _, last = interval.partition('-')
            intervals.append((int(first), int(last or first)))
    return found


def gtid_set_reached(replayed: str, needed: str) -> bool:
    """Whether every transaction of the needed set is in the replayed set."""
    have = gtid_set(replayed)
    for uuid, intervals in gtid_set(needed).items():
        held = have.get(uuid, [])
        for first, last in intervals:
            if not any(start <= first and last <= end for start, end in held):
                return False
    return True


def coalesced(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted intervals with overlapping and adjacent ones joined: [(5, 7), (1, 4)] -> [(1, 7)]."""
    joined: list[tuple[int, int]] = []
    for first, last in sorted(intervals):
        if joined and first <= joined[-1][1] + 1:
            joined[-1] = (joined[-1][0], max(joined[-1][1], last))
        else:
            joined.append((first, last))
    return joined


def gtid_set_merged(older: str, newer: str) -> str:
    """The union of two GTID sets, its intervals coalesced (a thread's mark stays as small as
    the server's own gtid_executed)."""
    merged = gtid_set(older)
    for uuid, intervals in gtid_set(newer).items():
        merged.setdefault(uuid, []).extend(intervals)
    return ','.join(f'{uuid}:' + ':'.join(f'{first}-{last}' if first != last else str(first)
                                           for first, last in coalesced(intervals))
                    for uuid, intervals in sorted(merged.items()))


MYSQL_GTID = ReplicationPositions(
    written_sql='SELECT @@global.gtid_executed', replayed_sql='SELECT @@global.gtid_executed',
    lag_sql='SHOW REPLICA STATUS', lag_column='Seconds_Behind_Source',
    reached=gtid_set_reached, merged=gtid_set_merged,
    wait_sql='SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?)', wait_reached=0,   # 1: timed out
    detached=io_thread_stopped('Replica_IO_Running'),
    read_only_session_sql=('SET SESSION TRANSACTION READ ONLY',))
