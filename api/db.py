"""The database engine and sessions; creating the tables of every part (KB, handoff, API tokens)."""

from __future__ import annotations

from sqlalchemy import UniqueConstraint, create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from handoff import HandoffBase, install_outbox
from kb import KBBase


class ApiBase(DeclarativeBase):
    """Declarative base for the API's own tables (access tokens)."""


def make_engine(url: str, sqlite_synchronous: str = "normal") -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign keys, so short write locks are waited out.

    `sqlite_synchronous`: SQLite's `synchronous` ("normal" or "full"). In WAL mode "normal" writes a commit to the
    log without waiting for the disk: a crashed or killed process loses nothing, a power cut or an operating-system
    crash may lose the last commits (never the database); "full" waits for the disk on every commit,
    with the API's event loop waiting too."""
    if sqlite_synchronous not in ("normal", "full"):
        raise ValueError(f"sqlite_synchronous must be 'normal' or 'full', not {sqlite_synchronous!r}")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA synchronous={sqlite_synchronous.upper()}")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


class SchemaError(RuntimeError):
    """The database holds tables this release cannot bring up to date by itself."""


def create_tables(engine: Engine) -> None:
    """Create every table that does not exist yet, and add the columns a newer release defines to tables an older
    one created (the schema migration of this release: new columns are nullable, so stored rows stay as they are)."""
    for base in (KBBase, HandoffBase, ApiBase):
        base.metadata.create_all(engine)
        _add_missing_columns(engine, base)


def _add_missing_columns(engine: Engine, base: type[DeclarativeBase]) -> None:
    """ALTER TABLE … ADD COLUMN for every nullable column an existing table lacks (SQLite and PostgreSQL both take
    it), a unique index for each unique constraint over an added column, and the index of an added indexed column
    (named as `create_all` names it, so an upgraded database and a new one have the same)."""
    inspector = inspect(engine)
    with engine.begin() as connection:
        for table in base.metadata.sorted_tables:
            existing = {column["name"] for column in inspector.get_columns(table.name)}
            added = [column for column in table.columns if column.name not in existing]
            for column in added:
                if not column.nullable:
                    raise SchemaError(
                        f"the table {table.name} lacks the column {column.name}, which cannot be added to stored rows "
                        "automatically: back up the database and migrate it by hand"
                    )
                kind = column.type.compile(dialect=engine.dialect)
                connection.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))
            names = {column.name for column in added}
            for index in table.indexes:
                columns = [column.name for column in index.columns]
                if names & set(columns):
                    unique = "UNIQUE " if index.unique else ""
                    connection.execute(
                        text(f"CREATE {unique}INDEX IF NOT EXISTS {index.name} ON {table.name} ({', '.join(columns)})")
                    )
            for constraint in table.constraints:
                columns = [column.name for column in getattr(constraint, "columns", ())]
                if isinstance(constraint, UniqueConstraint) and names & set(columns):
                    index = f"uq_{table.name}_{'_'.join(columns)}"
                    connection.execute(
                        text(f"CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {table.name} ({', '.join(columns)})")
                    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """The app's sessions: each writes the webhook outbox with the changes it commits."""
    return install_outbox(sessionmaker(engine, expire_on_commit=False))
