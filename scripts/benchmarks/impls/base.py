"""The interface every measured library implements."""

import contextlib

from ..common import NotApplicable, Sizes, WorkData


class Implementation:
    """The workloads of one library on one backend. Each workload method returns a count
    that the harness checks, so a wrong answer is an error rather than a fast figure."""

    name = ''

    def __init__(self, backend: str, url: str, sizes: Sizes) -> None:
        self.backend = backend
        self.url = url
        self.sizes = sizes

    def open(self) -> None:
        """Connect and build models; called once before any workload."""

    def close(self) -> None:
        """Release every connection."""

    def recover(self) -> None:
        """Leave no transaction open after a workload raised, so the next one's DDL
        does not wait on this implementation's locks."""

    def reset(self, seed: WorkData | None) -> None:
        """Fresh tables, filled with `seed` when given."""
        raise NotImplementedError

    def save_each(self, rows: list[dict]) -> int:
        """(a) One save per row, all in one transaction; number of ids received."""
        raise NotImplementedError

    def insert_many(self, rows: list[dict]) -> int:
        """(b) All rows in the library's bulk insert, in one transaction; rows written."""
        raise NotImplementedError

    def bulk_load(self, rows: list[dict]) -> int:
        """(b2) Many rows in the library's fastest bulk load, in one transaction; rows written."""
        return self.insert_many(rows)

    def load_objects(self) -> list:
        """(c) Every row as the library's row object."""
        raise NotImplementedError

    def query_objects(self) -> int:
        """(c) Every row as the library's row object; number of rows."""
        return len(self.load_objects())

    def query_dicts(self) -> int:
        """(c) Every row as a dict (or the library's mapping); number of rows."""
        raise NotImplementedError

    def find_by_pk(self, keys: list[int]) -> int:
        """(d) One lookup per key; number found."""
        raise NotImplementedError

    def aggregate(self, reps: int) -> int:
        """(e) The join + group by query `reps` times; rows of the last result."""
        raise NotImplementedError

    def reset_eager(self) -> None:
        """(e2) Fresh users, posts and comments tables, filled (tables.eager_setup_statements)."""
        raise NotApplicable('no relation loading')

    def eager_load(self) -> int:
        """(e2) Every user with its posts and their comments, in the library's eager loading,
        then a walk over every user's posts' comments; number of comments found under the
        post and user they belong to (so a wrong grouping is an error, not a fast figure)."""
        raise NotApplicable('no relation loading')

    def prepare_pool(self) -> None:
        """Create the pool used by (f) if it does not exist yet."""

    def pooled_query(self) -> None:
        """(f) One `SELECT 1` through the pool."""
        raise NotImplementedError

    def pool_checkout(self) -> contextlib.AbstractContextManager:
        """(f) A context manager that checks a connection out and returns it."""
        raise NotImplementedError
