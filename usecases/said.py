"""What the customer has said, read the way the use cases need it: whether a message asks for a person, the problem
a message states besides that request, and the customer's own words of a conversation, for the ticket.

The rules here are the application's, in en/ja/ko; the bot's classifier (nlu_data/) decides the intent in a live
conversation, and these only read the words once the intent is known (or stand in for it while the bot is away).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from handoff.clock import as_utc
from handoff.vocabulary import HandoffIntent
from usecases.form import without_contact_answers

ASK_HUMAN = "/ask_human"
# A cheap stand-in for the assistant's `ask_human` intent (nlu_data/nlu.yml) while it cannot classify: a wrong guess
# only shows the form a little early, it never hides an answer the customer asked for.
ASKS_FOR_PERSON = re.compile(
    r"\b(human|real person|a person|live agent|an agent|operator|representative|supervisor|manager|"
    r"(talk|speak|chat) (to|with) (someone|somebody|a person))\b|^\s*agent\W*$"
    r"|担当者|オペレーター|人間|有人|人と話|責任者|上司|マネージャー"
    r"|상담원|상담사|직원|담당자|매니저|사람(과|이랑|하고|한테|을|으로)",
    re.IGNORECASE,
)
# A customer who wants someone senior, or who complains (en/ja/ko): what the handoff's intent says.
WANTS_SENIOR = re.compile(
    r"\b(supervisor|manager|boss|someone (senior|in charge)|higher up)\b"
    r"|責任者|上司|マネージャー|上の人|店長|매니저|책임자|상급자|관리자|윗사람",
    re.IGNORECASE,
)
COMPLAINS = re.compile(
    r"\b(complain|complaint|unacceptable|ridiculous|outrageous|disgusting|terrible service|worst)\b"
    r"|苦情|クレーム|ひどすぎ|最悪|ふざけ|許せない|불만|항의|최악|어이없|화가 나",
    re.IGNORECASE,
)
# Where a message's clauses part: the ends of sentences, commas, and the words that join a problem to a request
# ("…, so I want a person", 「…ので人と話したい」, "…는데 상담원 연결해 주세요").
CLAUSE_BREAK = re.compile(
    r"[.!?;,。．！？、，\n]+|\b(?:and|but|so|because)\b|ので|から|けど|けれど|のに|는데|은데|어서|아서|해서|지만",
    re.IGNORECASE,
)
# Words that carry no problem: greetings, thanks, please.
PLEASANTRIES = re.compile(
    r"\b(hello|hi|hey|good (morning|afternoon|evening)|please|thanks|thank you|sorry|excuse me)\b"
    r"|こんにちは|こんばんは|おはようございます|すみません|すいません|お願いします|お願い|ありがとうございます|ください"
    r"|안녕하세요|감사합니다|부탁드립니다|부탁해요|주세요|죄송합니다",
    re.IGNORECASE,
)
# How much a clause must say to be a problem: Latin letters (a few words), or Han, kana and Hangul characters,
# each of which carries about a syllable.
MIN_LATIN_LETTERS = 10
MIN_CJK_CHARACTERS = 4


def asks_for_person(text: str) -> bool:
    """Whether the customer asks for a person, by the widget's button or in their own words (en, ja, ko).

    >>> [asks_for_person(t) for t in ("Can I talk to a human?", "担当者と話したい", "where is my parcel")]
    [True, True, False]
    """
    return text.split("{")[0] == ASK_HUMAN or (not text.startswith("/") and bool(ASKS_FOR_PERSON.search(text)))


def _says_enough(clause: str) -> bool:
    characters = re.findall(r"\w", PLEASANTRIES.sub(" ", clause))
    cjk = sum(1 for c in characters if ord(c) >= 0x2E80)
    return cjk >= MIN_CJK_CHARACTERS or len(characters) - cjk >= MIN_LATIN_LETTERS


def stated_problem(text: str) -> str | None:
    """The message as the customer wrote it (spaces tidied) when it says more than a request for a person: it has
    more than one clause, and one of them asks for no one and says enough to be a problem. None for a bare request
    (one clause: a request worded in a way these rules do not know is still no problem), a greeting, a button.

    >>> stated_problem("今朝からアプリが全く動かない。仕事にならないので人と話したい")
    '今朝からアプリが全く動かない。仕事にならないので人と話したい'
    >>> stated_problem("I was charged twice, let me talk to a person") is not None
    True
    >>> bare = ("担当者につないでください", "안녕하세요, 상담원 연결해 주세요", "hi, a human please")
    >>> [stated_problem(t) for t in bare]
    [None, None, None]
    """
    clauses = [c for c in CLAUSE_BREAK.split(text) if c and c.strip()]
    if text.startswith("/") or len(clauses) < 2:
        return None
    if any(not ASKS_FOR_PERSON.search(clause) and _says_enough(clause) for clause in clauses):
        return " ".join(text.split())
    return None


def customer_question(text: str) -> str | None:
    """A customer's stored message as a question (spaces tidied), or None if it is not one: a button's /payload, or
    only the placeholder left of a contact detail (the answer to the form's name or email question)."""
    if text.startswith("/") or not re.search(r"\w", without_contact_answers(text)):
        return None
    return " ".join(text.split())


def customer_words(entries: Iterable[Mapping[str, Any]], since: datetime | None = None) -> list[str]:
    """The customer's messages in a transcript (`handoff.service.transcript`), oldest first, without buttons and
    contact answers; with `since`, only those written after it (a conversation's earlier, closed ticket had its
    own)."""
    words = []
    for entry in entries:
        if entry["sender"] != "customer" or (
            since is not None and as_utc(datetime.fromisoformat(entry["at"])) <= since
        ):
            continue
        if question := customer_question(entry["text"]):
            words.append(question)
    return words


def handoff_intent(words: list[str], reason: str) -> HandoffIntent | None:
    """What the customer wants of the person they are handed to, from all their words: someone senior, else to
    complain, else (they asked for a person) anyone; None when they did not ask (the bot handed over by itself)
    and did not complain.

    >>> handoff_intent(["I want to speak with your manager"], "asked_for_person")
    'supervisor'
    >>> handoff_intent(["返金がまだ来ない、最悪です"], "no_answer"), handoff_intent(["상담원 연결"], "asked_for_person")
    ('complaint', 'asked_for_person')
    """
    text = " ".join(words)
    if WANTS_SENIOR.search(text):
        return "supervisor"
    if COMPLAINS.search(text):
        return "complaint"
    return "asked_for_person" if reason == "asked_for_person" else None


def problem_told(words: list[str], *, latest_asks: bool = False) -> str | None:
    """What the customer has told of their problem, in their own words: the latest message that is not a bare
    request for a person (the problem it states, when it is one with a request). None if they have said nothing
    else yet. `latest_asks`: the latest message is known to ask for a person (the bot's classifier said so), even
    if these rules do not know its words.

    >>> problem_told(["where is my parcel", "Agent please"], latest_asks=True)
    'where is my parcel'
    >>> problem_told(["担当の方につないでください"], latest_asks=True) is None
    True
    """
    for index in range(len(words) - 1, -1, -1):
        text = words[index]
        if problem := stated_problem(text):
            return problem
        if not asks_for_person(text) and not (latest_asks and index == len(words) - 1):
            return text
    return None
