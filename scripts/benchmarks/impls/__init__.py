"""Every library the benchmark measures, by its command-line name."""

from .activerecord_orm import ActiveRecordImpl
from .base import Implementation
from .peewee_orm import Peewee
from .raw import RawDriver
from .sqlalchemy_orm import SQLAlchemyCore, SQLAlchemyORM

IMPLEMENTATIONS: dict[str, type[Implementation]] = {
    impl.name: impl for impl in (RawDriver, ActiveRecordImpl, SQLAlchemyORM, SQLAlchemyCore,
                                 Peewee)
}
