"""Upgrading a database made by an earlier release: new columns are added, stored rows stay, constraints hold; how
SQLite commits."""

import pytest
from pydantic import ValidationError
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from api.db import create_tables, make_engine, session_factory
from api.settings import Settings
from handoff.service import open_conversation, record_message

# The messages table as the first release created it (before idempotency keys and reply links).
FIRST_RELEASE_MESSAGES = """
CREATE TABLE messages (
    id {id_column}, conversation_id VARCHAR(32), seq INTEGER, sender VARCHAR(20), text TEXT,
    payload JSON, created_at TIMESTAMP
)"""
STORED_MESSAGE = (
    "INSERT INTO messages (id, conversation_id, seq, sender, text, payload) "
    "VALUES (100, 'c0', 1, 'customer', 'hi', '{}')"
)


@pytest.fixture
def old_database(tmp_path, _database_per_test):
    engine = make_engine(_database_per_test or f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as connection:
        serial = "SERIAL PRIMARY KEY" if engine.dialect.name == "postgresql" else "INTEGER PRIMARY KEY"
        connection.execute(text(FIRST_RELEASE_MESSAGES.format(id_column=serial)))
        connection.execute(text(STORED_MESSAGE))
    return engine


def test_an_older_messages_table_gets_the_new_columns_and_keeps_its_rows(old_database):
    create_tables(old_database)
    columns = {column["name"] for column in inspect(old_database).get_columns("messages")}
    assert {"client_message_id", "in_reply_to_id", "ticket_event_id"} <= columns
    with old_database.connect() as connection:
        assert connection.execute(text("SELECT text FROM messages WHERE id = 100")).scalar_one() == "hi"
    create_tables(old_database)  # a second start changes nothing

    with session_factory(old_database)() as session:
        conversation, _ = open_conversation(session)
        record_message(session, conversation, "customer", "first", client_message_id="k1")
        session.commit()
        with pytest.raises(IntegrityError):
            record_message(session, conversation, "customer", "again", client_message_id="k1")
            session.commit()


def test_an_older_timers_table_gets_the_escalation_matrix_column(tmp_path, _database_per_test):
    engine = make_engine(_database_per_test or f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as connection:  # as the release before escalation matrices had names created it
        connection.execute(
            text(
                "CREATE TABLE ticket_timers (id INTEGER PRIMARY KEY, ticket_id INTEGER, kind VARCHAR(30), "
                "level INTEGER, due_at TIMESTAMP, fired_at TIMESTAMP, cancelled_at TIMESTAMP)"
            )
        )
        connection.execute(
            text("INSERT INTO ticket_timers (id, ticket_id, kind, level) VALUES (7, 1, 'escalation', 2)")
        )
    create_tables(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT level, matrix FROM ticket_timers WHERE id = 7")).one() == (2, None)


def test_an_older_conversations_table_gets_the_known_customer_columns_and_their_index(tmp_path, _database_per_test):
    engine = make_engine(_database_per_test or f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as connection:  # as the release before known customers created it
        connection.execute(
            text(
                "CREATE TABLE conversations (id VARCHAR(40) PRIMARY KEY, token_hash VARCHAR(64), channel VARCHAR(20), "
                "lang VARCHAR(8), customer_name VARCHAR(120), customer_email VARCHAR(254), customer_attributes JSON, "
                "state VARCHAR(20), created_at TIMESTAMP, updated_at TIMESTAMP)"
            )
        )
        connection.execute(text("INSERT INTO conversations (id, token_hash, state) VALUES ('c0', 'h', 'bot')"))
    create_tables(engine)
    create_tables(engine)  # a second start changes nothing
    with engine.connect() as connection:
        row = connection.execute(text("SELECT customer_id, customer_site FROM conversations WHERE id = 'c0'")).one()
        assert row == (None, None)
    indexes = {index["name"]: index["column_names"] for index in inspect(engine).get_indexes("conversations")}
    assert indexes["ix_conversations_customer_id"] == ["customer_id"]


@pytest.mark.parametrize(("setting", "pragma"), [("normal", 1), ("full", 2)])
def test_sqlite_commits_wait_for_the_disk_only_when_asked(tmp_path, setting, pragma):
    engine = make_engine(f"sqlite:///{tmp_path / 'sync.db'}", Settings(sqlite_synchronous=setting).sqlite_synchronous)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar_one() == pragma


def test_an_unknown_sqlite_synchronous_setting_is_refused_with_the_choices():
    with pytest.raises(ValidationError, match="'normal' or 'full'"):
        Settings(sqlite_synchronous="off")
    with pytest.raises(ValueError, match="'normal' or 'full'"):
        make_engine("sqlite://", "off")
