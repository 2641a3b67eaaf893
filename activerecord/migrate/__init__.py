"""Schema migrations: revision files, the operations they call, and the migrator that runs them.

`Migrator(url_or_backend, 'migrations').up()` applies what is pending; `python -m activerecord
migrate up|down|status|sql` does the same from the command line (docs/migrations.md).
"""
from __future__ import annotations

from ..errors import MigrationError
from .migrator import Migrator, RevisionStatus
from .operations import Operations

__all__ = ['MigrationError', 'Migrator', 'Operations', 'RevisionStatus']
