"""bot.tracker_store: Rasa's SQL tracker store keeping trackers in memory, checked against the stock store."""

import subprocess
from pathlib import Path

from api.launcher import find_rasa
from api.settings import ROOT

CHECK = """
import asyncio, sys
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from bot.tracker_store import KeptSQLTrackerStore

domain = Domain.load("bot/domain.yml")
db = sys.argv[1]


class Broker:
    def __init__(self):
        self.published = []

    def publish(self, event):
        self.published.append(event["event"])


async def main():
    broker = Broker()
    store = KeptSQLTrackerStore(domain=domain, dialect="sqlite", db=db, event_broker=broker)
    other = KeptSQLTrackerStore(domain=domain, dialect="sqlite", db=db)  # another Rasa server on the same database
    stock = SQLTrackerStore(domain=domain, dialect="sqlite", db=db)

    tracker = await store.get_or_create_tracker("c1")
    tracker.update(UserUttered("hello", {"name": "greet", "confidence": 1.0}))
    tracker.update(SlotSet("lang", "ja"))
    await store.save(tracker)
    assert await store.retrieve("c1") is tracker, "an up-to-date tracker is kept, not rebuilt"
    assert [e.as_dict() for e in (await stock.retrieve("c1")).events] == [e.as_dict() for e in tracker.events]
    assert broker.published[-2:] == ["user", "slot"], broker.published

    elsewhere = await other.retrieve("c1")
    elsewhere.update(SlotSet("lang", "ko"))
    await other.save(elsewhere)
    again = await store.retrieve("c1")
    assert again is not tracker and again.get_slot("lang") == "ko", "events stored by another server are read"

    again.update(ActionExecuted("action_listen"))  # a turn that failed before saving
    rebuilt = await store.retrieve("c1")
    assert rebuilt is not again and len(rebuilt.events) == len(again.events) - 1, "unsaved events are not kept"

    await other.save(await other.retrieve("c1"))  # nothing new: nothing stored
    foreign = await stock.retrieve("c1")  # a tracker this store did not hand out: the stock count decides what is new
    foreign.update(UserUttered("bye", {"name": "goodbye", "confidence": 1.0}))
    await store.save(foreign)
    final = await stock.retrieve("c1")
    assert [e.as_dict() for e in final.events] == [e.as_dict() for e in foreign.events]
    assert [e.type_name for e in final.events] == ["action", "user", "slot", "slot", "user"]

    small = KeptSQLTrackerStore(domain=domain, dialect="sqlite", db=db, kept_conversations=1)
    first = await small.get_or_create_tracker("a")
    await small.get_or_create_tracker("b")
    assert await small.retrieve("a") is not first, "only the most recently used trackers are kept"

    # a new session: the database hands out its events only, so a tracker holding two sessions is not kept
    two = await small.retrieve("a")
    two.update(ActionExecuted("action_session_start"))
    two.update(SessionStarted())
    two.update(ActionExecuted("action_listen"))
    await small.save(two)
    latest = await small.retrieve("a")
    assert latest is not two and [e.type_name for e in latest.events] == ["session_started", "action"]
    latest.update(UserUttered("hi", {"name": "greet", "confidence": 1.0}))
    await small.get_or_create_tracker("b")  # "a" is evicted between its retrieve and its save
    await small.save(latest)
    full = await stock.retrieve_full_tracker("a")
    kinds = [e.type_name for e in full.events]
    assert kinds == ["action", "action", "session_started", "action", "user"], kinds
    print("ok")


asyncio.run(main())
"""


def test_kept_trackers_are_used_only_while_they_match_the_database(tmp_path):
    python = Path(find_rasa()).with_name("python")
    db = str(tmp_path / "tracker.db")
    result = subprocess.run([python, "-c", CHECK, db], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]
