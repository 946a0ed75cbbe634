"""The custom actions: answer from the knowledge base, run the handoff form, and hand the conversation off.

Each action is built with the use cases it calls (`actions_for`); the API process that hosts the action webhook
builds them from its own use cases (api/webhook.py), so the actions share its one knowledge base and database.
The actions read Rasa's tracker and speak through Rasa's dispatcher; what they decide and say comes from the use
cases: `Answers` for the search, `HandOff` for the ticket, `usecases.form` for the form's questions and checks."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from kb.search import Candidate
from usecases import UseCases
from usecases.form import CANCEL_WORDS, CHAT_FIELDS, MAX_FAILURES, SKIP, SKIPPED, FormField, in_lang
from usecases.handoff import HandoffDetails
from usecases.texts import TICKET_FAILED, language_name, say

logger = logging.getLogger(__name__)


def _lang(tracker: Tracker) -> str:
    return tracker.get_slot("lang") or "en"


def _intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def _response_text(domain: DomainDict, name: str, lang: str) -> str:
    """One of the domain's responses in `lang`, as text (for a button's title)."""
    variants = domain.get("responses", {}).get(name, [])
    for variant in variants:
        for condition in variant.get("condition") or []:
            if condition.get("name") == "lang" and condition.get("value") == lang:
                return variant["text"]
    return variants[0]["text"] if variants else name


class KnowledgeAction(Action):
    """An action that shows articles."""

    def __init__(self, cases: UseCases) -> None:
        self.cases = cases

    def utter_answer(self, dispatcher: CollectingDispatcher, candidate: Candidate, lang: str) -> None:
        article = candidate.article
        if article.lang == lang:
            dispatcher.utter_message(response="utter_answer", summary=article.summary)
        else:
            dispatcher.utter_message(
                response="utter_answer_other_language",
                summary=article.summary,
                article_lang_name=language_name(article.lang, lang),
            )
        dispatcher.utter_message(json_message={"articles": [self.cases.answers.card(candidate)]})


def _offer_handoff(dispatcher: CollectingDispatcher, question: str, reason: str) -> list[EventType]:
    dispatcher.utter_message(response="utter_needs_agent" if reason == "needs_agent" else "utter_no_answer")
    if reason == "needs_agent":
        dispatcher.utter_message(response="utter_no_answer")
    return [
        SlotSet("handoff_offered", True),
        SlotSet("handoff_reason", reason),
        SlotSet("unanswered_question", question),
    ]


class ActionAnswerFromKB(KnowledgeAction):
    """Search the knowledge base and answer, offer a few articles to choose from, or offer a handoff."""

    def name(self) -> str:
        return "action_answer_from_kb"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        lang = _lang(tracker)
        question = tracker.latest_message.get("text") or ""
        result = await self.cases.answers.search(question, lang)
        if result.decision == "answer" and result.best:
            self.utter_answer(dispatcher, result.best, lang)
            if result.best.article.needs_agent:
                return _offer_handoff(dispatcher, question, "needs_agent")
            return [SlotSet("handoff_offered", False)]
        if result.decision == "clarify":
            buttons = [
                {"title": c.article.title, "payload": f'/choose_article{{"article_id":"{c.article.id}"}}'}
                for c in self.cases.answers.choices(result)
            ]
            none_title = _response_text(domain, "utter_none_of_these", lang)
            buttons.append({"title": none_title, "payload": '/choose_article{"article_id":"none"}'})
            dispatcher.utter_message(response="utter_clarify", buttons=buttons)
            return [SlotSet("handoff_offered", False), SlotSet("unanswered_question", question)]
        if _intent(tracker) == "chitchat":
            dispatcher.utter_message(response="utter_out_of_scope")
            return [SlotSet("handoff_offered", False)]
        return _offer_handoff(dispatcher, question, "no_answer")


class ActionShowArticle(KnowledgeAction):
    """Show the article the customer chose from the offered ones, or offer a handoff for "none of these"."""

    def name(self) -> str:
        return "action_show_article"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        question = tracker.get_slot("unanswered_question") or ""
        chosen = self.cases.answers.chosen(tracker.get_slot("article_id") or "")
        if chosen is None:
            return [*_offer_handoff(dispatcher, question, "no_answer"), SlotSet("article_id", None)]
        self.utter_answer(dispatcher, chosen, _lang(tracker))
        return [SlotSet("handoff_offered", False), SlotSet("article_id", None), SlotSet("unanswered_question", None)]


class ActionStartHandoff(Action):
    """Say a person will take over, and pre-fill the form with what is already known."""

    def __init__(self, cases: UseCases) -> None:
        self.cases = cases

    def name(self) -> str:
        return "action_start_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        reason = "asked_for_person" if _intent(tracker) == "ask_human" else tracker.get_slot("handoff_reason")
        # handoff_offered stays as it is until the ticket is created or the form cancelled: the rule that
        # started this form is conditioned on it.
        asked = (tracker.latest_message.get("intent") or {}).get("confidence") if reason == "asked_for_person" else None
        events: list[EventType] = [
            SlotSet("handoff_reason", reason or "no_answer"),
            SlotSet("handoff_intent_confidence", asked),
            SlotSet("form_failures", {}),
        ]
        dispatcher.utter_message(response="utter_handoff_intro")
        # Say it once: what the customer has already told of the problem (the question the bot could not answer,
        # else their latest words that are more than a request for a person) is the ticket's question and
        # description, and the form does not ask for it again.
        question = tracker.get_slot("unanswered_question") or self.cases.conversations.problem_told(
            tracker.sender_id, latest_asks=reason == "asked_for_person"
        )
        if question:
            events.append(SlotSet("unanswered_question", question))
            if not tracker.get_slot("description"):
                events.append(SlotSet("description", question))
        known = self.cases.conversations.known_contact(tracker.sender_id)
        for slot, value in (("customer_name", known.name), ("customer_email", known.email)):
            if value and not tracker.get_slot(slot):
                events.append(SlotSet(slot, value))
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


class ActionAskField(Action):
    """Ask for one of the form's fields in the customer's language (Rasa's form calls `action_ask_<slot>`). A
    contact field's question carries its `form_field`, so the API knows the next message is that detail."""

    def __init__(self, field: FormField) -> None:
        self.field = field

    def name(self) -> str:
        return f"action_ask_{self.field.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        question = in_lang(self.field.question, _lang(tracker))
        dispatcher.utter_message(
            text=question, json_message={"form_field": self.field.slot} if self.field.contact else None
        )
        return []


class ValidateHandoffForm(FormValidationAction):
    """Check each answer with the form's own reading of it (`FormField.parse`); re-ask in the customer's language,
    and after MAX_FAILURES bad answers go on without the field."""

    def __init__(self) -> None:
        for field in CHAT_FIELDS:  # rasa-sdk calls validate_<slot> for each slot the form fills
            setattr(self, f"validate_{field.slot}", partial(self._validate, field))

    def name(self) -> str:
        return "validate_handoff_form"

    def _validate(
        self, field: FormField, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        parsed = field.parse(str(value or ""))
        if parsed is not None:
            return {field.slot: parsed}
        failures = dict(tracker.get_slot("form_failures") or {})
        failures[field.slot] = failures.get(field.slot, 0) + 1
        if failures[field.slot] >= MAX_FAILURES:
            dispatcher.utter_message(text=in_lang(SKIP, _lang(tracker)))
            return {field.slot: SKIPPED, "form_failures": failures}
        dispatcher.utter_message(text=in_lang(field.invalid, _lang(tracker)))
        return {field.slot: None, "form_failures": failures}


class ActionCreateTicket(Action):
    """Hand the conversation to the right tier-1 queue as a pre-filled ticket and tell the customer of it."""

    def __init__(self, cases: UseCases) -> None:
        self.cases = cases

    def name(self) -> str:
        return "action_create_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        def given(slot: str) -> str | None:
            value = tracker.get_slot(slot)
            return None if value in (None, SKIPPED) else str(value)

        question = tracker.get_slot("unanswered_question")
        details = HandoffDetails(
            reason=tracker.get_slot("handoff_reason") or "asked_for_person",
            description=given("description") or question or "",
            question=question,
            customer_name=given("customer_name"),
            customer_email=given("customer_email"),
            answers={f.name: given(f.slot) for f in CHAT_FIELDS},
            intent_confidence=tracker.get_slot("handoff_intent_confidence"),
        )
        try:
            # In the event loop, with the loop's other writes (the customer's messages and the bot's replies): on
            # SQLite a write from another thread would wait for them (and they for it) with the driver's
            # sleep-and-retry.
            handed = self.cases.hand_off(tracker.sender_id, details, actor="bot", record=False)
        except (SQLAlchemyError, ValueError):
            logger.exception("could not create the ticket for conversation %s", tracker.sender_id)
            dispatcher.utter_message(text=say(TICKET_FAILED, _lang(tracker)))
            return []
        for text in handed.texts:
            dispatcher.utter_message(text=text)
        dispatcher.utter_message(json_message={"ticket": handed.ticket.model_dump(mode="json")})
        return [
            SlotSet("handoff_offered", False),
            SlotSet("handoff_reason", None),
            SlotSet("unanswered_question", None),
            SlotSet("handoff_intent_confidence", None),
            SlotSet("description", None),
            SlotSet("form_failures", {}),
        ]


def actions_for(cases: UseCases) -> list[Action]:
    """Every custom action of bot/domain.yml, built over `cases`."""
    return [
        ActionAnswerFromKB(cases),
        ActionShowArticle(cases),
        ActionStartHandoff(cases),
        ActionDeclineHandoff(),
        ActionCancelHandoff(),
        *(ActionAskField(field) for field in CHAT_FIELDS),
        ValidateHandoffForm(),
        ActionCreateTicket(cases),
    ]
