"""A throwaway three-node MariaDB Galera cluster on loopback ports.

    with GaleraCluster() as cluster:
        cluster.url(cluster.nodes[1])      # mysql://root@127.0.0.1:p2/test
        cluster.multi_host_url()           # mysql://root@127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3/test
        cluster.stop(cluster.nodes[0])     # leaves the cluster cleanly; the others go on

Every node starts from a copy of one cleanly stopped single-node cluster (made once per
process), so they share its history: node 1 bootstraps the cluster again (`--wsrep-new-cluster`)
and nodes 2 and 3, joining one at a time (a donor serves one joiner at a time), receive only the
few write sets since by IST rather than a whole datadir by rsync SST (about 7 s for the three,
rather than 10-13). A node started later (after a crash) may still need an SST.

Every node reads only a defaults file of its own: the SST script runs `my_print_defaults`
itself, and without one it would read /etc/mysql/my.cnf and so the shared server's datadir.
The group communication, IST, SST and client ports are all free ports on 127.0.0.1. As root,
the nodes run as the `mysql` user. `with` waits until every node reports a cluster of three and `Synced`; its end
stops the nodes one at a time and deletes them, also when starting failed.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Sequence

# servers.py's own helpers for copying data directories, running setup commands and logs
from .servers import _copy_tree, _log_tail, _run  # pyright: ignore[reportPrivateUsage]
from .servers import LOOPBACK, ServerError, ThrowawayMariaDB, free_port, scratch_root

PROVIDER = Path('/usr/lib/galera/libgalera_smm.so')
#: seconds the whole cluster may take to form and sync before the fixture gives up
READY_TIMEOUT = 60.0
#: the user nodes run as when the tests run as root (the one mariadb-server's package creates)
NODE_USER = 'mysql'


def galera_missing() -> str | None:
    """Why a Galera cluster cannot start here (None when the provider and rsync are installed)."""
    if not PROVIDER.exists():
        return f'{PROVIDER} is missing (Debian package galera-4)'
    if shutil.which('rsync') is None:
        return 'rsync is missing (the SST method the cluster uses)'
    if shutil.which('wsrep_sst_rsync') is None:
        return 'wsrep_sst_rsync is missing (it comes with mariadb-server)'
    return None


class GaleraNode(ThrowawayMariaDB):
    """One Galera node: a ThrowawayMariaDB whose options live in a defaults file of its own."""

    name = 'galera'

    def __init__(self, number: int, group_ports: Sequence[int], *, seeded: bool = True,
                 startup_timeout: float = READY_TIMEOUT) -> None:
        super().__init__(startup_timeout=startup_timeout)
        self.seeded = seeded
        self.number = number
        self.group_port = group_ports[number - 1]
        self.ist_port = free_port()
        self.sst_port = free_port()
        self.cluster_address = 'gcomm://' + ','.join(f'{LOOPBACK}:{port}' for port in group_ports)
        self.bootstrap = number == 1

    @property
    def defaults_file(self) -> Path:
        """This node's only option file."""
        assert self.directory is not None, 'the node has not been set up'
        return self.directory / 'my.cnf'

    def _set_up(self) -> None:
        if self.seeded:
            self._make_directory()
            _copy_tree(_seed_data(), self.data_directory)
        else:
            super()._set_up()
        # As root, the joiner's rsync daemon would drop to `nobody` and be refused its own
        # datadir; as the mysql user nothing switches users.
        assert self.directory is not None
        _run(['chown', '-R', f'{NODE_USER}:{NODE_USER}', str(self.directory)],
             f'handing {self.directory} to {NODE_USER}')

    def _galera_options(self) -> list[str]:
        """The wsrep settings, all on loopback ports of this node's own."""
        provider_options = ';'.join([
            f'base_port={self.group_port}', f'gmcast.listen_addr=tcp://{LOOPBACK}:{self.group_port}',
            f'ist.recv_addr={LOOPBACK}:{self.ist_port}',
            # the default 128M ring buffer per node is only disk and startup time here
            'gcache.size=16M'])
        return [
            '--wsrep-on=ON', f'--wsrep-provider={PROVIDER}', f'--wsrep-cluster-address={self.cluster_address}',
            f'--wsrep-provider-options={provider_options}', f'--wsrep-node-address={LOOPBACK}:{self.group_port}',
            f'--wsrep-node-name=node{self.number}', '--wsrep-cluster-name=activerecord-test',
            f'--wsrep-sst-receive-address={LOOPBACK}:{self.sst_port}', '--wsrep-sst-method=rsync',
            '--binlog-format=ROW', '--default-storage-engine=InnoDB', '--innodb-autoinc-lock-mode=2',
            f'--server-id={self.number}']

    def _server_command(self) -> list[str]:
        # The same options ThrowawayMariaDB passes, moved from the command line into a file:
        # mariadbd hands --defaults-file on to the SST script, --no-defaults it does not.
        command = super()._server_command()
        options = [option for option in command[1:] if option not in ('--no-defaults', '--user=root')]
        options += self._galera_options()
        if os.geteuid() == 0:
            options.append(f'--user={NODE_USER}')
        lines = ['# written by tests/support/galera.py', '[mysqld]']
        lines += [option[2:] for option in options]
        self.defaults_file.write_text('\n'.join(lines) + '\n')
        # wsrep-new-cluster only on the first start: a restarted node 1 joins the others
        extra = ['--wsrep-new-cluster'] if self.bootstrap else []
        return [command[0], f'--defaults-file={self.defaults_file}', *extra]

    def _launch(self) -> None:
        super()._launch()
        self.bootstrap = False

    def _wait_until_ready(self) -> None:
        super()._wait_until_ready()
        # A joiner answers SELECT 1 before it has caught up with the cluster, and refuses other
        # statements (1047) until then: ThrowawayMariaDB's CREATE DATABASE must wait for this.
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                status: Any = GaleraCluster.rows(self, "SHOW STATUS LIKE 'wsrep_ready'")
            except Exception as error:   # it went away: the poll below tells
                status = repr(error)
            if status and isinstance(status, list) and status[0]['Value'] == 'ON':
                return
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise ServerError(f'galera node{self.number} on port {self.port} did not become ready '
                                  f'(wsrep_ready={status})\n--- {self.log_path}:\n{_log_tail(self.log_path)}')
            time.sleep(0.05)

    def _halt(self, mode: str) -> None:
        process = self._process
        try:
            super()._halt(mode)
        finally:
            # An SST script (and its rsync daemon) runs in the node's process group: end it too.
            if process is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)

    def _first_start(self) -> None:
        # The group ports are fixed in every node's cluster address, so no retry on another port.
        self.port = free_port()
        self.start()


# A node that starts from a plain datadir needs a full SST (a few seconds of rsync script) to
# join. Every node here starts from one cleanly stopped single-node cluster instead: they share
# its history (grastate.dat and InnoDB's wsrep checkpoint agree), so a joiner only needs the
# few write sets since node 1 started, by IST.
_SEED: list[Path] = []
_SEED_LOCK = threading.Lock()


def _seed_data() -> Path:
    """The datadir of a stopped one-node cluster, made once per process (deleted at exit)."""
    with _SEED_LOCK:
        if not _SEED:
            directory = Path(tempfile.mkdtemp(prefix='ar-galera-seed-', dir=scratch_root()))
            try:
                with GaleraNode(1, [free_port()], seeded=False) as seed:
                    seed.stop('fast')   # a clean shutdown records the position it stopped at
                    _copy_tree(seed.data_directory, directory / 'data')
            except BaseException:
                shutil.rmtree(directory, ignore_errors=True)
                raise
            atexit.register(shutil.rmtree, directory, True)
            _SEED.append(directory / 'data')
        return _SEED[0]


class GaleraCluster:
    """Three Galera nodes (by default); `with` starts them and waits for Synced, its end deletes them."""

    def __init__(self, size: int = 3, *, timeout: float = READY_TIMEOUT) -> None:
        if size < 1:
            raise ValueError(f'size must be >= 1, not {size!r}')
        self.timeout = timeout
        group_ports: list[int] = []
        while len(group_ports) < size:
            port = free_port()
            if port not in group_ports:
                group_ports.append(port)
        self.nodes = [GaleraNode(number, group_ports, startup_timeout=timeout) for number in range(1, size + 1)]

    def __enter__(self) -> 'GaleraCluster':
        try:
            deadline = time.monotonic() + self.timeout
            for node in self.nodes:
                # One joiner at a time: a donor serves one SST, and a joiner waiting for the
                # donor would look like a hang within ThrowawayMariaDB's own startup wait.
                node.__enter__()
            self.wait_synced(deadline=deadline)
        except ServerError as error:
            # a donor's side of a failed SST is only in the donor's log
            others = self._log_tails([node for node in self.nodes if node.directory is not None])
            self.close()
            raise ServerError(f'{error}\n=== every node:\n{others}') from error
        except BaseException:
            self.close()
            raise
        return self

    @staticmethod
    def _log_tails(nodes: Sequence[GaleraNode], lines: int = 80) -> str:
        """The end of each node's log, under its name."""
        return '\n'.join(f'--- node{node.number} {node.log_path}:\n{_log_tail(node.log_path, lines)}'
                         for node in nodes)

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop and delete the nodes one at a time, the last joined first (safe to call twice)."""
        for node in reversed(self.nodes):
            try:
                node.close()
            except ServerError:
                pass   # the others are still closed; the directory is deleted either way

    @staticmethod
    def url(node: ThrowawayMariaDB, database: str = 'test') -> str:
        """The URL of `database` on one node, as root."""
        return f'mysql://root@{node.host}:{node.port}/{database}'

    def multi_host_url(self, nodes: Sequence[ThrowawayMariaDB] | None = None, query: str = '') -> str:
        """A URL listing the nodes (default: all, in order)."""
        chosen = nodes if nodes is not None else self.nodes
        hosts = ','.join(f'{node.host}:{node.port}' for node in chosen)
        return f'mysql://root@{hosts}/test' + (f'?{query}' if query else '')

    @property
    def running(self) -> list[GaleraNode]:
        """The nodes that run now."""
        return [node for node in self.nodes if node.running]

    def wait_synced(self, nodes: Sequence[GaleraNode] | None = None, *, deadline: float | None = None) -> None:
        """Return once every running node sees all running nodes in its cluster and is Synced."""
        chosen = list(nodes) if nodes is not None else self.running
        deadline = deadline if deadline is not None else time.monotonic() + self.timeout
        states: dict[str, Any] = {}
        while True:
            states = {f'node{node.number}': self._state(node) for node in chosen}
            if all(state == (len(chosen), 'Synced') for state in states.values()):
                return
            if time.monotonic() > deadline:
                tails = self._log_tails(chosen)
                raise ServerError(f'the Galera cluster did not sync within {self.timeout:g}s: '
                                  f'(cluster size, state) = {states}\n{tails}')
            time.sleep(0.1)

    def _state(self, node: GaleraNode) -> Any:
        """(wsrep_cluster_size, wsrep_local_state_comment) of one node, or the error reading them."""
        try:
            status = {row['Variable_name']: row['Value'] for row in self.rows(
                node, "SHOW STATUS WHERE Variable_name IN ('wsrep_cluster_size', 'wsrep_local_state_comment')")}
            return int(status.get('wsrep_cluster_size', 0)), status.get('wsrep_local_state_comment')
        except Exception as error:   # not up yet, or refusing queries while it joins
            return repr(error)

    def stop(self, node: GaleraNode, mode: str = 'fast') -> None:
        """Stop one node ('fast' leaves the cluster cleanly, 'immediate' kills it)."""
        node.stop(mode)

    def start(self, node: GaleraNode) -> None:
        """Start a stopped node again; it rejoins the running nodes (IST or SST) before this returns."""
        node.start()
        self.wait_synced()

    @staticmethod
    def rows(node: ThrowawayMariaDB, sql: str) -> list[dict[str, Any]]:
        """The rows of one statement run as root on one node over its Unix socket."""
        import pymysql  # type: ignore[import-untyped]  # no stubs installed for mypy
        import pymysql.cursors  # type: ignore[import-untyped]

        connection = pymysql.connect(unix_socket=str(node.socket_path), user='root', connect_timeout=5,
                                     read_timeout=30, autocommit=True, cursorclass=pymysql.cursors.DictCursor)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return list(cursor.fetchall())
        finally:
            connection.close()

    @classmethod
    def value(cls, node: ThrowawayMariaDB, sql: str) -> Any:
        """The first column of the first row of one statement run on one node (None if none)."""
        found = cls.rows(node, sql)
        return next(iter(found[0].values())) if found else None


__all__ = ['GaleraCluster', 'GaleraNode', 'galera_missing']
