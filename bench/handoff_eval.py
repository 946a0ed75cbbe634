"""Handoff benchmark: scripted customers who end up wanting a person, played against the real system over HTTP, and
the ticket each one gets read back with an agent's token and scored against what it must hold.

    $(scripts/venv.sh app)/bin/python -m bench.handoff_eval                        # this checkout, full set
    $(scripts/venv.sh app)/bin/python -m bench.handoff_eval --limit 5              # a small run while developing
    git worktree add /tmp/hbench-base 44b09d4                                      # the code before "say it once"
    $(scripts/venv.sh app)/bin/python -m bench.handoff_eval \\
        --checkout current=. --checkout baseline=/tmp/hbench-base                 # both, one after the other

The conversations are bench/data/handoff_conversations.yml (its header says how they were written and how each
expectation was decided). Each `--checkout` is started as its own system, the way bench/load_test.py starts one: the
Rasa server and the API of that checkout's code (its own virtual environments from its scripts/venv.sh, run with
the checkout as working directory and PYTHONPATH, its Rasa model trained by its own `api.cli train` into the shared
cache, keyed by the hash of its inputs), on free loopback ports, a fresh database, rate limits raised. Its own
config/policies.yml is used with one change: incidents are off (`min_tickets` raised), since 156 handoffs in a few
minutes would otherwise join incidents and go up a priority level, which real traffic spread over hours would not.
The harness itself (this file) is the same for every checkout, so every version is played and scored alike.

Playing a conversation (`play`): the customer opens a conversation in their language (a signed-in customer with a
customer token, below) and types the script's turns in order; whenever the bot's latest reply asks for a form field
the customer answers it from the profile instead (the bot's own order, whatever it is); once the script is used up
and there is no ticket yet, the customer keeps trying to reach a person: accepts an offered handoff, picks "none of
these" among offered articles, or says they want a person. At most `MAX_TURNS` customer messages; the details form
the API offers when the bot is away is filled in and sent. Then the ticket is read with GET /api/v1/tickets/{id}.

Scores, per language and overall (`aggregate`), over the conversations the version could play:
  ticket reached       conversations that ended with a ticket
  fields correct       every field check of every conversation (`expect.fields` and the file's `every_ticket`),
                       pooled; a conversation without a ticket fails its checks; also each field on its own, and
                       conversations with every check right
  queue, priority, reason, intent accuracy
                       the ticket's value equals the expected one (no ticket: wrong); intent only when the ticket
                       reports one (`intent` in the agent's view of the ticket), else "not set by this version"
  turns to a ticket    customer messages sent up to and including the one whose reply carried the ticket (button
                       presses and form answers count), mean and median over the conversations that reached one
  repeated questions   see `count_repeats`; target 0

Signed-in customers: with `--customer-secret` (or TIERZERO_CUSTOMER_SECRET) the harness signs a customer token for
each signed-in conversation (`customer_token`: an HS256 JWT of the script's `customer`), passes the secret to the
system under test as TIERZERO_CUSTOMER_TOKEN_SECRET, and sends the token as `customer_token` when it opens the
conversation. Without a secret, or when the API refuses the field (422), those conversations are counted as "not
supported by this version" and left out of every other figure.

Writes bench/results/handoff.json and handoff.md for a full run (every conversation); a partial run (`--limit`,
`--only`) prints its table and writes only where `--json` / `--md` say.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "handoff_conversations.yml"
RESULTS = ROOT / "bench" / "results"

LANGS = ("en", "ja", "ko")
OPENINGS = (
    "problem_then_person",
    "problem_with_person",
    "person_then_problem",
    "angry_complaint",
    "supervisor",
    "refund",
    "signed_in",
)
REASONS = ("no_answer", "asked_for_person", "needs_agent")
INTENTS = ("asked_for_person", "supervisor", "complaint", None)
PRIORITIES = ("low", "normal", "high", "urgent")
WRITTEN = ("before_tuning",)
FORM_FIELDS = ("name", "email", "description")
# What a customer gives away, by the form field that asks for it: the description asks for the problem.
FACT_OF_FIELD = {"name": "name", "email": "email", "description": "problem"}
FACTS = frozenset(FACT_OF_FIELD.values())
MAX_TURNS = 12

# The bot's slot names, as a reply's `form_field` carries them, by form field.
FORM_SLOTS = {"customer_name": "name", "customer_email": "email", "description": "description"}
# A question for a field, in the three languages, besides the form's own questions (GET /api/v1/handoff-form): the
# re-asks after an answer the form could not read (usecases/form.py `invalid`), in any version's wording.
ASKS = {
    "name": re.compile(r"your name|catch a name|お名前|성함", re.IGNORECASE),
    "email": re.compile(r"e-?mail address|メールアドレス|이메일", re.IGNORECASE),
    "description": re.compile(
        r"describe what you need|tell me a little more|お困りの内容|もう少し詳しく|도움이 필요하신지|조금 더 자세히",
        re.IGNORECASE,
    ),
}
AFFIRM = "/affirm"
NONE_OF_THESE = '/choose_article{"article_id":"none"}'
INSIST = {
    "en": "I'd like to talk to a person, please.",
    "ja": "担当者と話したいです。",
    "ko": "상담원과 이야기하고 싶어요.",
}


# ---------------------------------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class Turn:
    say: str
    tells: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Conversation:
    id: str
    lang: str
    opening: str
    written: str
    turns: tuple[Turn, ...]
    profile: Mapping[str, str]
    expect: Mapping[str, Any]
    customer: Mapping[str, Any] | None = None

    def answer(self, form_field: str) -> str:
        """What the customer types when the bot asks for `form_field`."""
        return self.profile.get(f"{form_field}_answer") or self.profile[form_field]

    @property
    def signed_in(self) -> bool:
        return self.customer is not None


class DataError(ValueError):
    """The conversations file says something the harness cannot play or score."""


def load_conversations(path: Path = DATA) -> list[Conversation]:
    """Every conversation of the file, each with its own field checks and the file's `every_ticket` ones merged."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    every = dict(data.get("every_ticket") or {})
    conversations, seen = [], set()
    for raw in data["conversations"]:
        where = f"{path.name}: {raw.get('id', '?')}"
        if raw["id"] in seen:
            raise DataError(f"{where}: the id is used twice")
        seen.add(raw["id"])
        if raw["lang"] not in LANGS or raw["opening"] not in OPENINGS or raw.get("written") not in WRITTEN:
            raise DataError(f"{where}: lang, opening or written is not one of {LANGS}, {OPENINGS}, {WRITTEN}")
        turns = tuple(Turn(t["say"], frozenset(t.get("tells") or ())) for t in raw["turns"])
        if not turns or any(not t.say.strip() or not t.tells <= FACTS for t in turns):
            raise DataError(f"{where}: every turn needs words, and `tells` only of {sorted(FACTS)}")
        profile = raw["profile"]
        if any(not str(profile.get(f) or "").strip() for f in FORM_FIELDS):
            raise DataError(f"{where}: the profile needs {FORM_FIELDS}")
        expect = dict(raw["expect"])
        if (
            expect.get("reason") not in REASONS
            or expect.get("intent", "missing") not in INTENTS
            or expect.get("priority") not in PRIORITIES
            or not expect.get("queue")
        ):
            raise DataError(f"{where}: expect needs queue, priority, reason and intent")
        expect["fields"] = {**every, **(expect.get("fields") or {})}
        for name, want in expect["fields"].items():
            if want not in ("non_null", "profile") and not (isinstance(want, dict) and want.get("contains")):
                raise DataError(f"{where}: field {name}: use non_null, profile or {{contains: [...]}}")
            if want == "profile" and name.rsplit(".", 1)[-1] not in profile:
                raise DataError(f"{where}: field {name} is to equal the profile's, which has none")
        customer = raw.get("customer")
        if (customer is not None) != (raw["opening"] == "signed_in"):
            raise DataError(f"{where}: signed_in conversations, and only they, have a customer")
        conversations.append(
            Conversation(
                id=raw["id"],
                lang=raw["lang"],
                opening=raw["opening"],
                written=raw["written"],
                turns=turns,
                profile=profile,
                expect=expect,
                customer=customer,
            )
        )
    return conversations


# ---------------------------------------------------------------------------------------------------- the bot's replies


def asked_field(
    messages: Sequence[Mapping[str, Any]], questions: Mapping[str, Iterable[str]] | None = None
) -> str | None:
    """The form field (name, email, description) the bot's reply asks the customer for, or None.

    A message's `form_field` says it when the API passes it on; otherwise the reply's last message is read: one
    with buttons, articles or a details form is not a form question; one that is the form's question for a field
    (`questions`, from GET /api/v1/handoff-form in each language) or says what its re-asks say (`ASKS`) is.

    >>> asked_field([{"text": "Sure, I'll connect you."}, {"text": "What's your name?"}])
    'name'
    >>> asked_field([{"text": "お困りの内容を教えてください。"}]), asked_field([{"text": "How can I help you today?"}])
    ('description', None)
    """
    for message in messages:
        if message.get("form_field") in FORM_SLOTS:
            return FORM_SLOTS[message["form_field"]]
    said = [m for m in messages if (m.get("text") or "").strip()]
    if not said:
        return None
    last = said[-1]
    if last.get("buttons") or last.get("articles") or last.get("form"):
        return None
    text = last["text"].strip()
    for name, texts in (questions or {}).items():
        if text in {t.strip() for t in texts if t}:
            return name
    return next((name for name, pattern in ASKS.items() if pattern.search(text)), None)


def _payloads(messages: Sequence[Mapping[str, Any]]) -> set[str]:
    return {b.get("payload", "") for m in messages for b in m.get("buttons") or []}


def _details_form(messages: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    return next((m["form"] for m in reversed(messages) if m.get("form")), None)


# ------------------------------------------------------------------------------------------------ repeated questions


def count_repeats(
    steps: Sequence[Mapping[str, Any]],
    questions: Mapping[str, Iterable[str]] | None = None,
    known_at_start: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """The questions the customer had to answer twice: each time the bot asks for something the customer has
    already given in this conversation.

    `steps` are the conversation's turns in order, each the customer's message (`gives`: what it gives away, of
    "problem", "name", "email") and the bot's reply to it (`bot`: its messages). A reply that asks for a form field
    (`asked_field`) is a repeat when what that field asks for was known before the reply:
      - the description: the customer has stated the problem: a turn of the script that tells it (`tells:
        [problem]`), or an earlier answer to the description question;
      - the name or the email: the customer has typed it, as the answer to the form's question (the profile's
        value, always one the form can read: a re-ask of it is a repeat too) or in a turn of their own (`tells:
        [name]`), or it was known before the first message (`known_at_start`: what the customer token the API
        accepted carries).
    A reply counts at most once (it asks one thing); the form's first question for a field not known yet is not a
    repeat, nor is anything but a form field (an offer of a person, a choice of articles).

    >>> steps = [{"gives": ["problem"], "bot": [{"text": "What's your name?"}]},
    ...          {"gives": ["name"], "bot": [{"text": "Please describe what you need help with."}]}]
    >>> count_repeats(steps)
    [{'turn': 2, 'field': 'description'}]
    """
    known, repeats = set(known_at_start), []
    for turn, step in enumerate(steps, start=1):
        known |= set(step.get("gives") or ())
        asked = asked_field(step.get("bot") or [], questions)
        if asked is not None and FACT_OF_FIELD[asked] in known:
            repeats.append({"turn": turn, "field": asked})
    return repeats


# ----------------------------------------------------------------------------------------------- signed-in customers


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def customer_token(customer: Mapping[str, Any], secret: str, now: float | None = None) -> str:
    """A customer token for the script's `customer`: an HS256 JWT whose claims are `sub` (the customer's id), the
    customer's other attributes (name, email, plan, lifetime_value), `iat` and `exp` (an hour later).

    >>> token = customer_token({"id": "c-1", "plan": "pro"}, "s3cret", now=0)
    >>> json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==")) == {"sub": "c-1", "plan": "pro",
    ...     "iat": 0, "exp": 3600}
    True
    """
    issued = int(time.time() if now is None else now)
    claims = {"sub": customer["id"], **{k: v for k, v in customer.items() if k != "id"}, "iat": issued}
    claims["exp"] = issued + 3600
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


# ---------------------------------------------------------------------------------------------------- one conversation


@dataclass
class Played:
    """What happened in one conversation: its steps, the ticket as the agent reads it, and whether this version
    could play it at all."""

    status: str  # played | not_supported | error
    steps: list[dict[str, Any]] = field(default_factory=list)
    ticket: dict[str, Any] | None = None
    known_at_start: frozenset[str] = frozenset()
    detail: str = ""
    seconds: float = 0.0
    conversation_id: str | None = None


class Client:
    """The customer's and the agent's side of one running system, over HTTP as the widget and the desk use it."""

    def __init__(self, api_url: str, agent_token: str, customer_secret: str | None = None) -> None:
        self.http = httpx.Client(base_url=api_url, timeout=60)
        self.agent_headers = {"Authorization": f"Bearer {agent_token}"}
        self.customer_secret = customer_secret
        self.questions = {lang: self._questions(lang) for lang in LANGS}
        self.signed_in = self._accepts_customer_tokens()

    def _questions(self, lang: str) -> dict[str, list[str]]:
        """The form's questions in `lang`, by field, as this version's API describes its form (none if it does not)."""
        response = self.http.get("/api/v1/handoff-form", params={"lang": lang})
        if response.status_code != 200:
            return {}
        return {f["name"]: [f["question"]] for f in response.json()["fields"] if f.get("question")}

    def _accepts_customer_tokens(self) -> str:
        """Whether this version's API opens a conversation with a customer token: "yes", or why not."""
        if not self.customer_secret:
            return "no secret given (--customer-secret / TIERZERO_CUSTOMER_SECRET)"
        token = customer_token({"id": "probe", "name": "Probe", "plan": "free"}, self.customer_secret)
        response = self.http.post("/api/v1/conversations", json={"lang": "en", "customer_token": token})
        return "yes" if response.status_code == 201 else f"POST /api/v1/conversations said {response.status_code}"

    def close(self) -> None:
        self.http.close()

    def play(self, conversation: Conversation) -> Played:
        started = time.perf_counter()
        try:
            played = self._play(conversation)
        except (httpx.HTTPError, KeyError, ValueError) as error:
            played = Played("error", detail=f"{type(error).__name__}: {error}")
        played.seconds = round(time.perf_counter() - started, 2)
        return played

    def _play(self, conversation: Conversation) -> Played:
        body: dict[str, Any] = {"lang": conversation.lang}
        known: frozenset[str] = frozenset()
        if conversation.signed_in:
            if self.signed_in != "yes":
                return Played("not_supported", detail=self.signed_in)
            assert conversation.customer is not None and self.customer_secret
            body["customer_token"] = customer_token(conversation.customer, self.customer_secret)
            known = frozenset(f for f in ("name", "email") if conversation.customer.get(f))
        created = self.http.post("/api/v1/conversations", json=body)
        if created.status_code == 422 and conversation.signed_in:
            return Played("not_supported", detail=created.text[:200])
        created.raise_for_status()
        opened = created.json()
        headers = {"Authorization": f"Bearer {opened['token']}"}
        questions = self.questions[conversation.lang]
        pending = list(conversation.turns)
        steps: list[dict[str, Any]] = []
        reply: dict[str, Any] = {"messages": [], "state": "bot", "ticket": None}
        while len(steps) < MAX_TURNS and not reply.get("ticket"):
            messages = reply["messages"]
            asked = asked_field(messages, questions)
            form = _details_form(messages)
            gives: frozenset[str] = frozenset()
            if form is not None:  # the bot is away: the API's details form, filled in and sent
                kind, text = "details_form", "[details form]"
                values = {f["name"]: f.get("value") or "" for f in form["fields"]}
                values.update({f: conversation.profile[f] for f in FORM_FIELDS if not values.get(f)})
                values["reason"] = form.get("reason", "no_answer")
                response = self.http.post(form["action"], json=values, headers=headers)
                gives = frozenset(FACT_OF_FIELD.values())
            else:
                if asked is not None:
                    kind, text, gives = f"answer:{asked}", conversation.answer(asked), frozenset({FACT_OF_FIELD[asked]})
                elif pending:
                    turn = pending.pop(0)
                    kind, text, gives = "script", turn.say, turn.tells
                elif AFFIRM in _payloads(messages):
                    kind, text = "accept_offer", AFFIRM
                elif NONE_OF_THESE in _payloads(messages):
                    kind, text = "none_of_these", NONE_OF_THESE
                else:
                    kind, text = "insist", INSIST[conversation.lang]
                path = f"/api/v1/conversations/{opened['id']}/messages"
                response = self.http.post(path, json={"text": text}, headers=headers)
            response.raise_for_status()
            reply = response.json()
            steps.append(
                {
                    "customer": text,
                    "kind": kind,
                    "gives": sorted(gives),
                    "bot": reply["messages"],
                    "state": reply["state"],
                }
            )
        ticket = None
        if reply.get("ticket"):
            answer = self.http.get(f"/api/v1/tickets/{reply['ticket']['id']}", headers=self.agent_headers)
            answer.raise_for_status()
            ticket = answer.json()
        return Played("played", steps=steps, ticket=ticket, known_at_start=known, conversation_id=opened["id"])


# ---------------------------------------------------------------------------------------------------- scoring


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _value(ticket: Mapping[str, Any], name: str) -> Any:
    value: Any = ticket
    for part in name.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def check_field(ticket: Mapping[str, Any] | None, name: str, want: Any, profile: Mapping[str, str]) -> bool:
    """Whether the ticket's field `name` (dotted: customer.name) holds what `want` says.

    >>> ticket = {"description": "My order KM-1 is late", "question": None, "customer": {"name": "Ada"}}
    >>> check_field(ticket, "description", {"contains": ["km-1", "LATE"]}, {})
    True
    >>> check_field(ticket, "question", "non_null", {})
    False
    >>> check_field(ticket, "customer.name", "profile", {"name": "Ada"})
    True
    """
    if ticket is None:
        return False
    value = _value(ticket, name)
    if want == "non_null":
        return value is not None and value != ""
    if want == "profile":
        return value == profile[name.rsplit(".", 1)[-1]]
    return isinstance(value, str) and all(fold(str(piece)) in fold(value) for piece in want["contains"])


def score(conversation: Conversation, played: Played, questions: Mapping[str, Iterable[str]] | None = None) -> dict:
    """One conversation's result: what was expected, what the ticket holds, and each check."""
    result: dict[str, Any] = {
        "id": conversation.id,
        "lang": conversation.lang,
        "opening": conversation.opening,
        "written": conversation.written,
        "status": played.status,
        "conversation_id": played.conversation_id,
    }
    if played.status != "played":
        return {**result, "detail": played.detail}
    ticket, expect = played.ticket, conversation.expect
    turns_to_ticket = len(played.steps) if ticket else None
    repeats = count_repeats(played.steps, questions, played.known_at_start)
    checks = {name: check_field(ticket, name, want, conversation.profile) for name, want in expect["fields"].items()}
    got = {k: (ticket or {}).get(k) for k in ("queue", "priority", "reason")}
    intent_reported = ticket is not None and "intent" in ticket
    return {
        **result,
        "ticket": ticket is not None,
        "reference": (ticket or {}).get("reference"),
        "turns_to_ticket": turns_to_ticket,
        "customer_turns": len(played.steps),
        "repeats": repeats,
        "fields": checks,
        "expected": {k: expect[k] for k in ("queue", "priority", "reason", "intent")},
        "got": {**got, "intent": ticket.get("intent") if intent_reported else "not reported"},
        "correct": {
            **{k: ticket is not None and got[k] == expect[k] for k in ("queue", "priority", "reason")},
            "intent": (ticket.get("intent") == expect["intent"]) if intent_reported else None,
        },
        "routed_by": (ticket or {}).get("routed_by"),
        "description": (ticket or {}).get("description"),
        "question": (ticket or {}).get("question"),
        "kinds": [s["kind"] for s in played.steps],
        "seconds": played.seconds,
    }


def _pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def aggregate(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The figures over some conversations' results (one language, one opening, or all)."""
    played = [r for r in results if r["status"] == "played"]
    reached = [r for r in played if r["ticket"]]
    turns = [r["turns_to_ticket"] for r in reached]
    field_names = sorted({name for r in played for name in r["fields"]})
    with_ = {n: [r for r in played if n in r["fields"]] for n in field_names}
    checks = [ok for r in played for ok in r["fields"].values()]
    intents = [r["correct"]["intent"] for r in played if r["correct"]["intent"] is not None]
    repeats = [rep for r in played for rep in r["repeats"]]
    return {
        "conversations": len(results),
        "played": len(played),
        "not_supported": sum(1 for r in results if r["status"] == "not_supported"),
        "errors": sum(1 for r in results if r["status"] == "error"),
        "ticket_reached_pct": _pct(len(reached), len(played)),
        "fields_correct_pct": _pct(sum(checks), len(checks)),
        "field_pct": {n: _pct(sum(r["fields"][n] for r in with_[n]), len(with_[n])) for n in field_names},
        "all_fields_correct_pct": _pct(sum(all(r["fields"].values()) for r in played), len(played)),
        "queue_pct": _pct(sum(r["correct"]["queue"] for r in played), len(played)),
        "priority_pct": _pct(sum(r["correct"]["priority"] for r in played), len(played)),
        "reason_pct": _pct(sum(r["correct"]["reason"] for r in played), len(played)),
        "intent_pct": _pct(sum(intents), len(intents)) if intents else None,
        "intent_reported": len(intents),
        "turns_to_ticket_mean": round(statistics.fmean(turns), 2) if turns else None,
        "turns_to_ticket_median": statistics.median(turns) if turns else None,
        "repeated_questions": len(repeats),
        "repeated_by_field": {f: sum(1 for r in repeats if r["field"] == f) for f in FORM_FIELDS},
        "conversations_with_a_repeat": sum(1 for r in played if r["repeats"]),
    }


def summarise(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "all": aggregate(results),
        "by_lang": {lang: aggregate([r for r in results if r["lang"] == lang]) for lang in LANGS},
        "by_opening": {o: aggregate([r for r in results if r["opening"] == o]) for o in OPENINGS},
    }


# ---------------------------------------------------------------------------------------------------- the system


# Run inside the checkout under test, with its own Python: start its system, print how to reach it, stop it when
# stdin closes. Only names every version since the launcher has (api.launcher.start, Settings, create_token).
DRIVER = r"""
import json, sys
from pathlib import Path
from api.auth import create_token
from api.db import create_tables, make_engine, session_factory
from api.launcher import free_port, start
from api.settings import MAX_RASA_PROCESSES, Settings

data_dir = Path(sys.argv[1])
settings = Settings(data_dir=data_dir, port=free_port(), rasa_port=free_port(MAX_RASA_PROCESSES))
engine = make_engine(settings.db_url)
create_tables(engine)
with session_factory(engine)() as session:
    agent = create_token(session, "agent", "handoff-bench")
    session.commit()
system = start(settings, log_dir=data_dir / "logs")
print(json.dumps({"api_url": system.api_url, "agent_token": agent, "model": str(system.model)}), flush=True)
try:
    sys.stdin.read()
finally:
    system.stop()
"""
INCIDENTS_MIN_TICKETS = re.compile(r"^(incidents:.*\bmin_tickets:\s*)\d+", re.MULTILINE)


def venv(checkout: Path, kind: str) -> Path:
    """The checkout's own virtual environment (`scripts/venv.sh`, cached by the hash of what it installs)."""
    out = subprocess.run(["bash", "scripts/venv.sh", kind], cwd=checkout, check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def without_incidents(policies: str) -> str:
    """The policies with incidents off: `min_tickets` raised out of reach.

    >>> without_incidents("incidents: {window: 30m, min_tickets: 5, similarity: 0.92}")
    'incidents: {window: 30m, min_tickets: 1000000, similarity: 0.92}'
    """
    changed, count = INCIDENTS_MIN_TICKETS.subn(r"\g<1>1000000", policies)
    if count != 1:
        raise DataError("config/policies.yml: found no one `incidents: {... min_tickets: N ...}` line to turn off")
    return changed


def describe_checkout(checkout: Path) -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(checkout), *args], capture_output=True, text=True).stdout.strip()

    return {
        "path": str(checkout),
        "commit": git("rev-parse", "--short", "HEAD"),
        "subject": _shortened(git("log", "-1", "--format=%s"), 90),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@contextmanager
def running(checkout: Path, customer_secret: str | None, log: Path | None = None) -> Iterator[dict[str, Any]]:
    """The checkout's system, started as bench/load_test.py starts one, from the checkout's own code and
    environments; yields how to reach it and how long it took to come up."""
    app, rasa = venv(checkout, "app"), venv(checkout, "rasa")
    data_dir = Path(tempfile.mkdtemp(prefix="tierzero-handoff-"))
    policies = data_dir / "policies.yml"
    policies.write_text(without_incidents((checkout / "config" / "policies.yml").read_text(encoding="utf-8")))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERZERO_") or k == "TIERZERO_CACHE"}
    env.update(
        PYTHONPATH=str(checkout),
        TIERZERO_RASA_BIN=str(rasa / "bin" / "rasa"),
        TIERZERO_POLICIES_FILE=str(policies),
        TIERZERO_RASA_PROCESSES="1",  # one conversation at a time: one server is enough
        TIERZERO_MESSAGES_PER_MINUTE_PER_ADDRESS="100000",
        TIERZERO_CONVERSATIONS_PER_HOUR_PER_ADDRESS="100000",
    )
    if customer_secret:
        env["TIERZERO_CUSTOMER_TOKEN_SECRET"] = customer_secret
    python = str(app / "bin" / "python")
    started = time.perf_counter()
    trained = subprocess.run(
        [python, "-m", "api.cli", "train"], cwd=checkout, env=env, check=True, capture_output=True, text=True
    )
    train_s = time.perf_counter() - started
    process = subprocess.Popen(
        [python, "-c", DRIVER, str(data_dir)],
        cwd=checkout,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=(log or data_dir / "driver.log").open("ab"),
        text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        if not line:
            raise RuntimeError(f"the system of {checkout} did not start: see {log or data_dir / 'driver.log'}")
        info = json.loads(line)
        yield {
            **info,
            "model": trained.stdout.strip().splitlines()[-1],
            "train_s": round(train_s, 1),
            "start_s": round(time.perf_counter() - started - train_s, 1),
            "python": python,
            "log_dir": str(data_dir / "logs"),
        }
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log is None:
            shutil.rmtree(data_dir, ignore_errors=True)


def run_version(
    name: str, checkout: Path, conversations: Sequence[Conversation], customer_secret: str | None, verbose: bool
) -> dict[str, Any]:
    """Start the checkout's system, play every conversation, score each, and stop it."""
    began = datetime.now(UTC)
    with running(checkout, customer_secret) as system:
        client = Client(system["api_url"], system["agent_token"], customer_secret)
        try:
            played_at = time.perf_counter()
            results = []
            for conversation in conversations:
                result = score(conversation, client.play(conversation), client.questions[conversation.lang])
                results.append(result)
                if verbose:
                    print(f"  {name} {_line(result)}", file=sys.stderr, flush=True)
            play_s = time.perf_counter() - played_at
            unanswered = bot_unavailable(Path(system["log_dir"]))
        finally:
            client.close()
    for result in results:  # the API answered alone (Rasa too slow or down): not the bot's doing, so marked
        result["bot_unavailable_turns"] = unanswered.get(result.get("conversation_id") or "", 0)
    return {
        "name": name,
        "checkout": describe_checkout(checkout),
        "started_at": began.isoformat(timespec="seconds"),
        "train_s": system["train_s"],
        "start_s": system["start_s"],
        "play_s": round(play_s, 1),
        "rasa_model": Path(system["model"]).name,
        "signed_in_customers": client.signed_in,
        "bot_unavailable_turns": sum(unanswered.values()),
        "summary": summarise(results),
        "conversations": results,
    }


RASA_DID_NOT_ANSWER = re.compile(r"Rasa did not answer for conversation (\w+)")


def bot_unavailable(log_dir: Path) -> dict[str, int]:
    """Turns the API answered without the bot, by conversation, as its log says (a timeout under load, say)."""
    log = log_dir / "api.log"
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    found: dict[str, int] = {}
    for match in RASA_DID_NOT_ANSWER.finditer(text):
        found[match.group(1)] = found.get(match.group(1), 0) + 1
    return found


def _outcome(result: Mapping[str, Any]) -> tuple:
    """What a version made of a conversation, to compare versions by."""
    if result["status"] != "played":
        return (result["status"],)
    got = result["got"]
    fields = tuple(result["fields"].values())
    return (
        result["ticket"],
        got["queue"],
        got["priority"],
        got["reason"],
        len(result["repeats"]),
        fields,
        result["customer_turns"],
    )


def _line(result: Mapping[str, Any]) -> str:
    if result["status"] != "played":
        return f"{result['id']}: {result['status']}"
    got = result["got"]
    wrong = ", ".join(name for name, ok in result["fields"].items() if not ok) or "none"
    repeats = ", ".join(f"{r['field']} at {r['turn']}" for r in result["repeats"]) or "none"
    return (
        f"{result['id']}: ticket {result['reference'] or '-'} {got['queue']}/{got['priority']}/{got['reason']}, "
        f"{result['customer_turns']} turns, repeated: {repeats}; fields wrong: {wrong}"
    )


# ---------------------------------------------------------------------------------------------------- the report


ROWS = [
    ("conversations played", "played", "{}"),
    ("not supported by this version", "not_supported", "{}"),
    ("ticket reached", "ticket_reached_pct", "{} %"),
    ("fields correct (all checks)", "fields_correct_pct", "{} %"),
    ("conversations with every field right", "all_fields_correct_pct", "{} %"),
    ("queue accuracy", "queue_pct", "{} %"),
    ("priority accuracy", "priority_pct", "{} %"),
    ("reason accuracy", "reason_pct", "{} %"),
    ("intent accuracy", "intent_pct", "{} %"),
    ("customer turns to a ticket, mean", "turns_to_ticket_mean", "{}"),
    ("customer turns to a ticket, median", "turns_to_ticket_median", "{}"),
    ("repeated questions (target 0)", "repeated_questions", "{}"),
    ("conversations with a repeated question", "conversations_with_a_repeat", "{}"),
]


# The figures the table by opening shows (the JSON has them all).
OPENING_ROWS = (
    "played",
    "ticket_reached_pct",
    "fields_correct_pct",
    "queue_pct",
    "priority_pct",
    "reason_pct",
    "turns_to_ticket_mean",
    "repeated_questions",
)

SHORT = {
    "played": "played",
    "ticket_reached_pct": "ticket",
    "fields_correct_pct": "fields",
    "queue_pct": "queue",
    "priority_pct": "priority",
    "reason_pct": "reason",
    "turns_to_ticket_mean": "turns (mean)",
    "repeated_questions": "repeats",
}


def _cell(figures: Mapping[str, Any], key: str, form: str) -> str:
    value = figures.get(key)
    if key == "intent_pct" and value is None:
        return "not set"
    if key == "repeated_questions":
        by = figures["repeated_by_field"]
        parts = ", ".join(f"{f} {n}" for f, n in by.items() if n)
        return f"{value} ({parts})" if parts else str(value)
    return "–" if value is None else form.format(value)


def table(versions: Sequence[Mapping[str, Any]]) -> str:
    """A row per figure, a column per version for all conversations and for each language."""
    groups = [("all", lambda v: v["summary"]["all"])] + [
        (lang, lambda v, lang=lang: v["summary"]["by_lang"][lang]) for lang in LANGS
    ]
    head = ["figure"] + [f"{v['name']}: {g}" for g, _ in groups for v in versions]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for label, key, form in ROWS:
        cells = [_cell(pick(v), key, form) for _, pick in groups for v in versions]
        lines.append("| " + " | ".join([label, *cells]) + " |")
    for name in sorted({n for v in versions for n in v["summary"]["all"]["field_pct"]}):
        cells = [_cell(pick(v)["field_pct"], name, "{} %") for _, pick in groups for v in versions]
        lines.append("| " + " | ".join([f"field `{name}`", *cells]) + " |")
    return "\n".join(lines)


def opening_table(versions: Sequence[Mapping[str, Any]]) -> str:
    """A row per opening, a column per figure; each cell gives every version's value, in the versions' order."""
    rows = [r for r in ROWS if r[1] in OPENING_ROWS]
    names = " / ".join(v["name"] for v in versions)
    head = ["opening", *(f"{SHORT.get(key, label)} ({names})" for label, key, _ in rows)]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for opening in OPENINGS:
        cells = [
            " / ".join(_cell(v["summary"]["by_opening"][opening], key, form) for v in versions) for _, key, form in rows
        ]
        lines.append("| " + " | ".join([opening, *cells]) + " |")
    return "\n".join(lines)


def markdown(report: Mapping[str, Any]) -> str:
    versions = report["versions"]
    setup = report["setup"]
    out = [
        "# Handoff benchmark",
        "",
        f"`{setup['command']}`",
        "",
        f"{setup['conversations']} conversations from `{setup['data']}` ({setup['written_before_tuning']} of them "
        "written before any run, none changed after; see the file's header for how the expectations were decided). "
        f"Machine: {setup['machine']}. Incidents off in every version (see bench/handoff_eval.py).",
        "",
    ]
    for v in versions:
        c = v["checkout"]
        out.append(
            f"- **{v['name']}**: {c['commit']}{' (with uncommitted changes)' if c['dirty'] else ''} "
            f"“{c['subject']}”, started {v['started_at']}; up in {v['start_s']} s (model {v['rasa_model']}, "
            f"training check {v['train_s']} s), {v['summary']['all']['played']} conversations played in "
            f"{v['play_s']} s; turns the API answered without the bot: {v['bot_unavailable_turns']}; "
            f"signed-in customers: {v['signed_in_customers']}"
        )
    out += [
        "",
        "## By language",
        "",
        table(versions),
        "",
        "## By opening",
        "",
        opening_table(versions),
    ]
    out += ["", "## Conversations where the versions differ", ""]
    by_id = [{r["id"]: r for r in v["conversations"]} for v in versions]
    lines = []
    for conversation_id in by_id[0]:
        results = [b[conversation_id] for b in by_id if conversation_id in b]
        if len(results) > 1 and len({_outcome(r) for r in results}) > 1:
            lines.append(
                f"- {conversation_id}: "
                + " · ".join(
                    f"{v['name']} {_line(r).split(': ', 1)[1]}" for v, r in zip(versions, results, strict=True)
                )
            )
    out += lines or ["(none)"]
    out += [
        "",
        "Per conversation (bench/results/handoff.json): the expected and the ticket's queue, priority, reason and "
        "intent, each field check, the customer's turns by kind, the repeated questions with the turn each came at.",
    ]
    return "\n".join(out) + "\n"


def _shown(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--checkout",
        action="append",
        metavar="NAME=PATH",
        help="a version to run, as name=path of a checkout (repeat for several; run in the order given); "
        "default: current=this checkout",
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--limit", type=int, help="play only the first N conversations (after --only)")
    parser.add_argument("--only", nargs="+", help="conversation ids, or prefixes of them (en-, ja-0)")
    parser.add_argument("--customer-secret", default=os.environ.get("TIERZERO_CUSTOMER_SECRET"))
    parser.add_argument("--json", type=Path, help="default for a full run: bench/results/handoff.json")
    parser.add_argument("--md", type=Path, help="default for a full run: bench/results/handoff.md")
    parser.add_argument("--quiet", action="store_true", help="no line per conversation on stderr")
    args = parser.parse_args(argv)

    conversations = load_conversations(args.data)
    full = not args.only and not args.limit
    if args.only:
        conversations = [c for c in conversations if any(c.id.startswith(p) for p in args.only)]
    if args.limit:
        conversations = conversations[: args.limit]
    checkouts = []
    for spec in args.checkout or [f"current={ROOT}"]:
        name, _, path = spec.partition("=")
        if not path:
            parser.error(f"--checkout {spec}: give it as name=path")
        checkouts.append((name, Path(path).resolve()))

    started = time.perf_counter()
    versions = [
        run_version(name, path, conversations, args.customer_secret, verbose=not args.quiet) for name, path in checkouts
    ]
    report = {
        "setup": {
            "command": "python -m bench.handoff_eval " + " ".join(argv if argv is not None else sys.argv[1:]),
            "data": _shown(args.data),
            "conversations": len(conversations),
            "written_before_tuning": sum(1 for c in conversations if c.written == "before_tuning"),
            "by_lang": {lang: sum(1 for c in conversations if c.lang == lang) for lang in LANGS},
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "incidents": "off (min_tickets 1000000 in a copy of each checkout's config/policies.yml)",
            "max_customer_turns": MAX_TURNS,
            "total_s": round(time.perf_counter() - started, 1),
        },
        "versions": versions,
    }
    text = markdown(report)
    print(text)
    json_path = args.json or (RESULTS / "handoff.json" if full else None)
    md_path = args.md or (RESULTS / "handoff.md" if full else None)
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if md_path:
        md_path.parent.mkdir(parents=True, exist_ok=True)
        md_path.write_text(text, encoding="utf-8")
    return 1 if any(v["summary"]["all"]["errors"] for v in versions) else 0


if __name__ == "__main__":
    raise SystemExit(main())
