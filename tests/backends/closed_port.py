"""What a driver adapter must do against a port nothing listens on (the Oracle and SQL Server
adapter tests run both checks; what differs between the drivers stays in their modules)."""
from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest

from activerecord import errors


def refused_at_a_closed_port(backend: Any, name: str, port: int, password: str) -> tuple[errors.OperationalError, float]:
    """ping() raises OperationalError naming the database, host and port and the refusal, never the
    password, and leaves no connection in the pool; returns the error and the seconds it took."""
    started = time.monotonic()
    with pytest.raises(errors.OperationalError) as raised:
        backend.ping()
    elapsed = time.monotonic() - started
    message = str(raised.value)
    assert message.startswith(f'cannot connect to {name} at 127.0.0.1:{port}: ')
    assert 'Connection refused' in message
    assert password not in message and password not in repr(raised.value)
    assert backend.pool.status()['open'] == 0
    return raised.value, elapsed


def check_fails_plainly(url: str, password: str) -> str:
    """`python -m activerecord check url` exits 1 with no traceback and no `password`; returns stderr."""
    result = subprocess.run([sys.executable, '-m', 'activerecord', 'check', url],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert 'Traceback' not in output and password not in output
    return result.stderr
