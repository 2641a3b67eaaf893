"""The live fixtures a docs block may run against (`<!-- runs-against: NAME -->`, tests/test_docs.py).

Each starter enters its throwaway servers into the given ExitStack (so they are stopped and
deleted when the stack closes, also when starting part of them failed) and returns the names a
block finds in its namespace. The page text says what each name stands for, so a reader can
put their own server's URL in its place.
"""
from __future__ import annotations

from contextlib import ExitStack
from typing import Callable

from .mariadb_replication import ReplicatedMariaDB
from .pg_replication import ReplicatedPostgres
from .pgbouncer import PgBouncer
from .servers import ThrowawayPostgres

Names = dict[str, object]


def replicated_postgres(stack: ExitStack) -> Names:
    """A primary and two hot standbys. Every COMMIT waits until both standbys have applied it
    (remote_apply), so a read right after a write finds it on a replica, as a doc can promise."""
    cluster = stack.enter_context(ReplicatedPostgres(standbys=2, apply_wait=True))
    return {'PRIMARY_URL': cluster.primary.url,
            'REPLICA_URLS': [standby.url for standby in cluster.standbys],
            # the standbys first: the read-write probe has to skip them to find the primary
            'MULTI_HOST_URL': cluster.multi_host_url()}


def replicated_mariadb(stack: ExitStack) -> Names:
    """A MariaDB primary and one read-only GTID replica (asynchronous, as MariaDB replication is)."""
    cluster = stack.enter_context(ReplicatedMariaDB(replicas=1))
    return {'PRIMARY_URL': cluster.url(cluster.primary),
            'REPLICA_URLS': [cluster.url(replica) for replica in cluster.replicas]}


def pgbouncer(stack: ExitStack) -> Names:
    """pgbouncer in pool_mode=transaction with 2 server connections, in front of a PostgreSQL."""
    server = stack.enter_context(ThrowawayPostgres())
    bouncer = stack.enter_context(PgBouncer(server.port, pool_size=2))
    return {'PGBOUNCER_URL': bouncer.url}


#: marker value -> starter
FIXTURES: dict[str, Callable[[ExitStack], Names]] = {
    'replicated-postgres': replicated_postgres,
    'replicated-mariadb': replicated_mariadb,
    'pgbouncer': pgbouncer,
}
