"""A scripted endpoint on 127.0.0.1 for the adapter tests: the Oracle test's TLS endpoint and the
SQL Server test's TDS endpoint are subclasses that say what one session does."""
from __future__ import annotations

import socket
import threading
from typing import Any, Callable, ClassVar, Iterator


class LoopbackEndpoint:
    """Accepts connections in a daemon thread and runs session() on each, one at a time; a session
    ended by one of session_errors is recorded in events as (failure_event, the error's class name)."""

    failure_event: ClassVar[str] = 'ended'
    session_errors: ClassVar[tuple[type[BaseException], ...]] = (Exception,)

    def __init__(self) -> None:
        # A subclass sets its own attributes first: the thread may call session() at once.
        self.events: list[Any] = []
        self._listener = socket.create_server(('127.0.0.1', 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def session(self, conn: socket.socket) -> None:
        """Talk to one client (the connection is closed afterwards)."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop accepting (a session under way finishes)."""
        self._listener.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            conn.settimeout(10)
            try:
                self.session(conn)
            except self.session_errors as error:
                self.events.append((self.failure_event, type(error).__name__))
            finally:
                conn.close()


def started_endpoints(endpoint_class: Callable[..., LoopbackEndpoint]) -> Iterator[Callable[..., Any]]:
    """The body of an `endpoint` fixture: yields a function that starts an endpoint, and closes
    every endpoint it started afterwards."""
    started: list[LoopbackEndpoint] = []

    def start(*args: Any, **kwargs: Any) -> Any:
        started.append(endpoint_class(*args, **kwargs))
        return started[-1]
    yield start
    for endpoint in started:
        endpoint.close()
