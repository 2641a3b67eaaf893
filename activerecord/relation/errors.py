"""Errors raised by relations: bad declarations, strict-mode lazy loads, restricted deletes."""
from __future__ import annotations

from ..errors import ActiveRecordError, ConfigurationError


class RelationError(ConfigurationError):
    """A relation is declared or used wrongly; the message names the model and the relation."""


class LazyLoadError(ActiveRecordError):
    """Strict loading is on and a relation was about to be read lazily (an N+1 in the making)."""


class DeleteRestrictedError(ActiveRecordError):
    """A record with dependent='restrict' children cannot be deleted while they exist."""
