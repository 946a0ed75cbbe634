"""The custom actions: answer from the knowledge base, collect the handoff form, and create the ticket."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from bot.actions.runtime import get_runtime
from bot.actions.texts import language_name, queue_name, reply_expectation
from handoff import EMAIL_ADDRESS, ArticleTried, HandoffRequest
from handoff.incidents import open_incident_of
from handoff.service import get_conversation
from kb.search import Candidate

logger = logging.getLogger(__name__)

SKIPPED = "__skipped__"
MAX_FORM_FAILURES = 2
MAX_ARTICLES_TRIED = 10
NAME_PREFIXES = re.compile(
    r"^(my name is|my name's|i am|i'm|this is|it's|name:|私の名前は|名前は|わたしは|私は|제 이름은|저는|이름은)\s*",
    re.IGNORECASE,
)
# What a customer who leaves the form says (every `cancel` example of nlu_data/nlu.yml has one; a test keeps it so).
# The classifier also takes some answers for a cancel ("Robert", near "abort"): without one of these words, a
# message the form asked for is its answer.
CANCEL_WORDS = re.compile(
    r"\b(cancel|stop|never\s?mind|forget|quit|exit|abort|drop|don't want|changed my mind)\b"
    r"|やめ|止め|キャンセル|もういい|中止|したくない|取り消|ストップ|終了"
    r"|그만|취소|중단|관둘|싫어|안 할|멈춰|나갈|없던 일",
    re.IGNORECASE,
)
NAME_SUFFIXES = re.compile(r"\s*(です|と申します|といいます|입니다|이에요|예요|라고 합니다)[。.!！]*$")
NAME_MAX_CHARS = 100
EMAIL_MAX_CHARS = 254
EMAIL_WRAPPERS = "<>()[],;:。、"


def name_in(answer: str) -> str | None:
    """The name in the customer's answer to the form's name question, or None if the answer cannot be a name: too
    long, an email address, a button's /payload, no letter, or a question (a customer who asks "where is my
    parcel?" instead is asked again, and the question is not taken for their name). Examples in
    tests/bot/test_form_answers.py (pytest does not collect doctests under bot/)."""
    name = NAME_SUFFIXES.sub("", NAME_PREFIXES.sub("", answer.strip())).strip(" .。!！")
    if not 0 < len(name) <= NAME_MAX_CHARS or "@" in name or name.startswith("/") or "?" in name or "？" in name:
        return None
    return name if any(c.isalpha() for c in name) else None


def email_in(answer: str) -> str | None:
    """The email address in the customer's answer to the form's email question (the first word that is one, as
    typed), or None. Examples in tests/bot/test_form_answers.py."""
    words = (w.strip(EMAIL_WRAPPERS) for w in str(answer or "").split())
    return next((w for w in words if EMAIL_ADDRESS.match(w) and len(w) <= EMAIL_MAX_CHARS), None)


def _lang(tracker: Tracker) -> str:
    return tracker.get_slot("lang") or "en"


def _tried(tracker: Tracker, candidates: list[Candidate]) -> list[dict[str, Any]]:
    tried = list(tracker.get_slot("articles_tried") or [])
    known = {a["article_id"] for a in tried}
    for candidate in candidates:
        if candidate.article.id not in known:
            tried.append(
                ArticleTried(
                    article_id=candidate.article.id,
                    title=candidate.article.title,
                    score=round(candidate.confidence, 4),
                    topic=candidate.article.topic,
                ).model_dump()
            )
    return tried[-MAX_ARTICLES_TRIED:]


def _utter_answer(dispatcher: CollectingDispatcher, candidate: Candidate, lang: str) -> None:
    article = candidate.article
    if article.lang == lang:
        dispatcher.utter_message(response="utter_answer", summary=article.summary)
    else:
        dispatcher.utter_message(
            response="utter_answer_other_language",
            summary=article.summary,
            article_lang_name=language_name(article.lang, lang),
        )
    dispatcher.utter_message(json_message={"articles": [candidate.card(get_runtime().public_url)]})


def _offer_handoff(dispatcher: CollectingDispatcher, question: str, reason: str, tried: list) -> list[EventType]:
    dispatcher.utter_message(response="utter_needs_agent" if reason == "needs_agent" else "utter_no_answer")
    if reason == "needs_agent":
        dispatcher.utter_message(response="utter_no_answer")
    return [
        SlotSet("handoff_offered", True),
        SlotSet("handoff_reason", reason),
        SlotSet("unanswered_question", question),
        SlotSet("articles_tried", tried),
    ]


class ActionAnswerFromKB(Action):
    """Search the knowledge base and answer, offer a few articles to choose from, or offer a handoff."""

    def name(self) -> str:
        return "action_answer_from_kb"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        runtime = get_runtime()
        lang = _lang(tracker)
        question = tracker.latest_message.get("text") or ""
        if runtime.kb.search_is_quick(question):  # embedded by the API while Rasa classified it (the usual case)
            result = runtime.kb.search(question, lang=lang)
        else:  # in a worker thread: the embedding releases the interpreter, so the API serves other requests meanwhile
            result = await asyncio.to_thread(runtime.kb.search, question, lang=lang)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if result.decision == "answer" and result.best:
            best = result.best
            _utter_answer(dispatcher, best, lang)
            tried = _tried(tracker, [best])
            if best.article.needs_agent:
                return _offer_handoff(dispatcher, question, "needs_agent", tried)
            return [SlotSet("handoff_offered", False), SlotSet("articles_tried", tried)]
        if result.decision == "clarify":
            choices = result.choices(runtime.kb.policy)
            buttons = [
                {"title": c.article.title, "payload": f'/choose_article{{"article_id":"{c.article.id}"}}'}
                for c in choices
            ]
            none_title = _response_text(domain, "utter_none_of_these", lang)
            buttons.append({"title": none_title, "payload": '/choose_article{"article_id":"none"}'})
            dispatcher.utter_message(response="utter_clarify", buttons=buttons)
            return [
                SlotSet("handoff_offered", False),
                SlotSet("unanswered_question", question),
                SlotSet("articles_tried", _tried(tracker, choices)),
            ]
        if intent == "chitchat":
            dispatcher.utter_message(response="utter_out_of_scope")
            return [SlotSet("handoff_offered", False)]
        return _offer_handoff(dispatcher, question, "no_answer", _tried(tracker, result.candidates[:3]))


def _response_text(domain: DomainDict, name: str, lang: str) -> str:
    variants = domain.get("responses", {}).get(name, [])
    for variant in variants:
        for condition in variant.get("condition") or []:
            if condition.get("name") == "lang" and condition.get("value") == lang:
                return variant["text"]
    return variants[0]["text"] if variants else name


class ActionShowArticle(Action):
    """Show the article the customer chose from the offered ones, or offer a handoff for "none of these"."""

    def name(self) -> str:
        return "action_show_article"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        runtime = get_runtime()
        lang = _lang(tracker)
        article_id = tracker.get_slot("article_id")
        question = tracker.get_slot("unanswered_question") or ""
        view = runtime.kb.articles.get(article_id or "")
        if view is None:
            return [
                *_offer_handoff(dispatcher, question, "no_answer", _tried(tracker, [])),
                SlotSet("article_id", None),
            ]
        candidate = Candidate(view, view.summary, "title", 1.0, 0.0, 0.0, 1.0)
        _utter_answer(dispatcher, candidate, lang)
        return [
            SlotSet("handoff_offered", False),
            SlotSet("article_id", None),
            SlotSet("unanswered_question", None),
        ]


class ActionStartHandoff(Action):
    """Say a person will take over, and pre-fill the form with what is already known."""

    def name(self) -> str:
        return "action_start_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        runtime = get_runtime()
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        reason = "asked_for_person" if intent == "ask_human" else tracker.get_slot("handoff_reason") or "no_answer"
        # handoff_offered stays as it is until the ticket is created or the form cancelled: the rule that
        # started this form is conditioned on it.
        events: list[EventType] = [SlotSet("handoff_reason", reason), SlotSet("form_failures", {})]
        dispatcher.utter_message(response="utter_handoff_intro")
        question = tracker.get_slot("unanswered_question")
        if question and not tracker.get_slot("description"):
            events.append(SlotSet("description", question))
        with runtime.sessions() as session:
            try:
                conversation = get_conversation(session, tracker.sender_id)
            except ValueError:
                conversation = None
            if conversation is not None:
                if conversation.customer_name and not tracker.get_slot("customer_name"):
                    events.append(SlotSet("customer_name", conversation.customer_name))
                if conversation.customer_email and not tracker.get_slot("customer_email"):
                    events.append(SlotSet("customer_email", conversation.customer_email))
        return events


class ActionDeclineHandoff(Action):
    """The customer does not want a person after all."""

    def name(self) -> str:
        return "action_decline_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_how_can_i_help")
        return [SlotSet("handoff_offered", False), SlotSet("unanswered_question", None)]


class ActionCancelHandoff(Action):
    """Leave the form without creating a ticket, when the customer says so (`CANCEL_WORDS`, or the cancel button);
    an answer the classifier took for a cancel goes back to the form as the answer it is."""

    def name(self) -> str:
        return "action_cancel_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "")
        asked = tracker.get_slot("requested_slot")
        if tracker.active_loop_name and asked and not text.startswith("/") and not CANCEL_WORDS.search(text):
            return [SlotSet(asked, text), FollowupAction("handoff_form")]  # the answer, checked as any other
        dispatcher.utter_message(response="utter_handoff_cancelled")
        return [
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            SlotSet("handoff_offered", False),
            SlotSet("description", None),
            SlotSet("form_failures", {}),
        ]


class ValidateHandoffForm(FormValidationAction):
    """Check each answer; re-ask in the customer's language, and after two bad answers go on without it."""

    def name(self) -> str:
        return "validate_handoff_form"

    def _reject(self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        failures = dict(tracker.get_slot("form_failures") or {})
        failures[slot] = failures.get(slot, 0) + 1
        if failures[slot] >= MAX_FORM_FAILURES:
            dispatcher.utter_message(response="utter_skip_field")
            return {slot: SKIPPED, "form_failures": failures}
        dispatcher.utter_message(response=f"utter_invalid_{slot.removeprefix('customer_')}")
        return {slot: None, "form_failures": failures}

    def validate_customer_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        name = name_in(str(value or ""))
        if name is not None:
            return {"customer_name": name}
        return self._reject("customer_name", dispatcher, tracker)

    def validate_customer_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        email = email_in(str(value or ""))
        if email:
            return {"customer_email": email.lower()}
        return self._reject("customer_email", dispatcher, tracker)

    def validate_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if 2 <= len(text) <= 2000 and not text.startswith("/"):
            return {"description": text}
        return self._reject("description", dispatcher, tracker)


def _create_ticket(runtime, request: HandoffRequest, lang: str) -> tuple[str, str, str, dict[str, Any], bool]:
    """Create and commit the ticket; what the bot tells the customer of it, and whether it joined an open incident."""
    with runtime.sessions() as session:
        ticket = runtime.handoff.hand_off(session, request)
        session.commit()
        expectation = reply_expectation(runtime.handoff.reply_window(ticket), lang)
        ticket_json = {"id": ticket.id, "reference": ticket.reference, "queue": ticket.queue, "status": ticket.status}
        known_incident = open_incident_of(session, ticket.id) is not None
        return ticket.reference, ticket.queue, expectation, ticket_json, known_incident


class ActionCreateTicket(Action):
    """Hand the conversation to the right tier-1 queue as a pre-filled ticket and tell the customer its id."""

    def name(self) -> str:
        return "action_create_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        runtime = get_runtime()
        lang = _lang(tracker)

        def given(slot: str) -> str | None:
            value = tracker.get_slot(slot)
            return None if value in (None, SKIPPED) else str(value)

        question = tracker.get_slot("unanswered_question")
        request = HandoffRequest(
            conversation_id=tracker.sender_id,
            reason=tracker.get_slot("handoff_reason") or "asked_for_person",
            customer_name=given("customer_name"),
            customer_email=given("customer_email"),
            description=given("description") or question or "",
            question=question,
            lang=lang,
            articles_tried=[ArticleTried(**a) for a in tracker.get_slot("articles_tried") or []],
        )
        try:
            # In the event loop, with the loop's other writes (the customer's messages and the bot's replies): on
            # SQLite a write from another thread would wait for them (and they for it) with the driver's
            # sleep-and-retry.
            reference, queue, expectation, ticket_json, known_incident = _create_ticket(runtime, request, lang)
        except (SQLAlchemyError, ValueError):
            logger.exception("could not create the ticket for conversation %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_ticket_failed")
            return []
        dispatcher.utter_message(
            response="utter_ticket_created",
            ticket_ref=reference,
            queue_name=queue_name(queue, lang),
            reply_expectation=expectation,
        )
        if known_incident:  # many customers reported the same problem just now: say the team knows
            dispatcher.utter_message(response="utter_known_incident")
        dispatcher.utter_message(json_message={"ticket": ticket_json})
        return [
            SlotSet("handoff_offered", False),
            SlotSet("handoff_reason", None),
            SlotSet("unanswered_question", None),
            SlotSet("description", None),
            SlotSet("articles_tried", []),
            SlotSet("form_failures", {}),
        ]
