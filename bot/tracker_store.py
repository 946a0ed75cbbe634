"""Rasa's SQL tracker store, with each conversation's tracker kept in memory between its turns.

The stock `SQLTrackerStore` reads every event of the conversation's session and replays them into a new tracker on
each message, then counts them again to know which events to save: a large part of Rasa's time a turn, growing
with every turn (bench/results/load.md). This store keeps the tracker it last returned or saved, with the number of
its events that are stored and the id of the conversation's newest stored event:

- on the next message it asks the database for that id (one indexed query) and, when nothing was stored since (by
  another Rasa process sharing the database, say) and the tracker holds no unsaved events (a turn that failed before
  saving), returns the kept tracker instead of rebuilding it; otherwise it rebuilds it as the stock store does;
- saving inserts the events after the stored ones, and falls back to the stock count when another process stored
  events of the conversation in between.

What is stored, and how, is exactly the stock store's (same table and rows): switching back to `type: SQL` reads it.
On SQLite the connection is kept open (the stock store opens one per query) in WAL mode with `synchronous=NORMAL`:
a killed process loses nothing; a power cut may lose the last dialogue states, never a message or a ticket (those
are in the API's database).
"""

from __future__ import annotations

import itertools
import json
from collections import OrderedDict
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

KEPT_CONVERSATIONS = 1000


class _Kept:
    """A tracker as this store last saw it: how many of its events are stored, and the newest stored event's id."""

    __slots__ = ("last_id", "stored", "tracker")

    def __init__(self, tracker: DialogueStateTracker, stored: int, last_id: int | None) -> None:
        self.tracker, self.stored, self.last_id = tracker, stored, last_id


class KeptSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` that keeps up to `kept_conversations` trackers in memory (the most recently used)."""

    def __init__(self, *args: Any, kept_conversations: int = KEPT_CONVERSATIONS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._capacity = max(0, int(kept_conversations))
        if self.engine.dialect.name == "sqlite":
            self.engine = _sqlite_engine(self.engine.url)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    def _last_event_id(self, session: sa.orm.Session, sender_id: str) -> int | None:
        events = self.SQLEvent.__table__
        query = sa.select(sa.func.max(events.c.id)).where(events.c.sender_id == sender_id)
        return session.connection().execute(query).scalar()

    def _keep(self, tracker: DialogueStateTracker, stored: int, last_id: int | None) -> None:
        if self._capacity == 0:
            return
        self._kept[tracker.sender_id] = _Kept(tracker, stored, last_id)
        self._kept.move_to_end(tracker.sender_id)
        while len(self._kept) > self._capacity:
            self._kept.popitem(last=False)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The conversation's tracker for its latest session: the kept one if it is up to date, else rebuilt."""
        kept = self._kept.pop(sender_id, None)
        with self.session_scope() as session:
            last_id = self._last_event_id(session, sender_id)
            if kept is not None and kept.last_id == last_id and len(kept.tracker.events) == kept.stored:
                self._keep(kept.tracker, kept.stored, last_id)
                return kept.tracker
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
        if not self.domain or not rows:
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, [json.loads(row.data) for row in rows], self.domain.slots)
        self._keep(tracker, len(tracker.events), rows[-1].id)
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Insert the tracker's events that are not stored yet (and publish them, with an event broker)."""
        kept = self._kept.get(tracker.sender_id)
        with self.session_scope() as session:
            handed_out = kept is not None and kept.tracker is tracker
            if handed_out and self._last_event_id(session, tracker.sender_id) == kept.last_id:
                new = list(itertools.islice(tracker.events, kept.stored, None))
            else:  # a tracker this store did not hand out, or events stored by another process: count what is stored
                new = list(self._additional_events(session, tracker))
            if new:  # one statement for all the rows (the ORM would send one per row, to read back each id)
                rows = [self._row(tracker.sender_id, event) for event in new]
                session.connection().execute(self.SQLEvent.__table__.insert(), rows)
            last_id = self._last_event_id(session, tracker.sender_id)
            session.commit()
        if _one_session(tracker):
            self._keep(tracker, len(tracker.events), last_id)
        else:  # the database hands out the latest session only: the next turn rebuilds it so
            self._kept.pop(tracker.sender_id, None)
        if self.event_broker is not None:
            await self._stream_new_events(self.event_broker, new, tracker.sender_id)

    @staticmethod
    def _row(sender_id: str, event: Any) -> dict[str, Any]:
        """The stock store's row for one event."""
        data = event.as_dict()
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }


def _one_session(tracker: DialogueStateTracker) -> bool:
    """Whether the tracker holds one session's events, from its start, as `retrieve` builds it from the database."""
    return not any(isinstance(event, SessionStarted) for event in itertools.islice(tracker.events, 1, None))


def _sqlite_engine(url: Any) -> sa.engine.Engine:
    """A kept connection (more only while used at once) in WAL mode, waiting out another process's write lock."""
    engine = sa.create_engine(url, poolclass=sa.pool.QueuePool, pool_size=1, connect_args={"check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine
