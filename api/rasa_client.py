"""Talking to the Rasa server over its REST channel, and turning its replies into widget messages."""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import yaml

from usecases.conversations import PAYLOAD
from usecases.ports import AssistantUnavailable

logger = logging.getLogger(__name__)


DOMAIN_FILE = Path(__file__).resolve().parent.parent / "bot" / "domain.yml"


class RasaUnavailable(AssistantUnavailable):
    """Rasa did not answer in time or answered with an error."""


@cache
def bot_intents() -> frozenset[str]:
    """The intents of the bot's domain: what a button's /payload may name."""
    return frozenset(yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))["intents"])


class RasaClient:
    """The assistant of the use cases (`usecases.ports.Assistant`): sends one customer message to Rasa and
    returns the bot's replies as messages.

    `base_url`: one Rasa server, or several separated by commas. Each conversation always goes to the same server
    (by a hash of its id), so its tracker stays in that server's memory and no two servers ever handle one
    conversation's turns at once (no shared lock store needed)."""

    def __init__(self, base_url: str, timeout: float) -> None:
        urls = [url.strip() for url in base_url.split(",") if url.strip()]
        self._clients = [httpx.AsyncClient(base_url=url, timeout=timeout) for url in urls]

    def server_for(self, conversation_id: str) -> int:
        """Which of the servers (0, 1, …) answers this conversation."""
        return zlib.crc32(conversation_id.encode()) % len(self._clients)

    def commands(self) -> frozenset[str]:
        return bot_intents()

    async def reply(self, conversation_id: str, text: str, lang: str) -> list[dict[str, Any]]:
        """The bot's replies to one message, sent with the conversation's language; the reply that asks one of the
        handoff form's questions carries its `form_field`."""
        replies = await self.send(conversation_id, with_lang(text, lang), {"lang": lang})
        messages = to_messages(replies)
        if messages and (field := form_field(replies)):
            messages[-1]["form_field"] = field
        return messages

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            response = await self._clients[self.server_for(conversation_id)].post(
                "/webhooks/rest/webhook", json={"sender": conversation_id, "message": text, "metadata": metadata}
            )
            response.raise_for_status()
            replies = response.json()
        except (httpx.HTTPError, ValueError) as error:
            logger.warning("Rasa did not answer for conversation %s: %r", conversation_id, error)
            raise RasaUnavailable(str(error)) from error
        if not isinstance(replies, list):
            raise RasaUnavailable(f"unexpected reply from Rasa: {replies!r}")
        return replies

    async def ready(self) -> bool:
        """Whether every server answers."""
        return all(await asyncio.gather(*(_answers(client) for client in self._clients)))

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()


def with_lang(text: str, lang: str) -> str:
    """A button's `/intent{...}` payload with the conversation's language among its entities. Rasa takes a
    payload's intent and entities as they are, without the NLU pipeline that reads the language from the message's
    metadata (bot/nlu.py), so without it a Japanese customer's first button press would be answered in English.
    Any other text is returned as it is.

    >>> with_lang("/ask_human", "ja"), with_lang('/choose_article{"article_id": "a1"}', "ko")
    ('/ask_human{"lang": "ja"}', '/choose_article{"article_id": "a1", "lang": "ko"}')
    >>> with_lang("where is my parcel", "en"), with_lang("/oops{not json}", "en")
    ('where is my parcel', '/oops{not json}')
    """
    match = PAYLOAD.fullmatch(text)
    if not match:
        return text
    try:
        entities = json.loads(match.group(2)) if match.group(2) else {}
    except ValueError:
        return text
    if not isinstance(entities, dict):
        return text
    return f"/{match.group(1)}{json.dumps({**entities, 'lang': lang}, ensure_ascii=False)}"


async def _answers(client: httpx.AsyncClient) -> bool:
    try:
        response = await client.get("/", timeout=2)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def to_messages(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rasa's REST replies as widget messages: text with buttons; article cards join the text they belong to."""
    messages: list[dict[str, Any]] = []
    for reply in replies:
        custom = reply.get("custom") or {}
        if reply.get("text"):
            message: dict[str, Any] = {"text": reply["text"]}
            if reply.get("buttons"):
                message["buttons"] = [
                    {"title": b.get("title", ""), "payload": b.get("payload", "")} for b in reply["buttons"]
                ]
            messages.append(message)
        if custom.get("articles"):
            if messages:
                messages[-1].setdefault("articles", []).extend(custom["articles"])
            else:
                messages.append({"text": "", "articles": custom["articles"]})
    return messages


def form_field(replies: list[dict[str, Any]]) -> str | None:
    """Which of the handoff form's fields the bot's replies ask for, if any (the `form_field` of a reply's custom
    data: bot/actions says it with each question)."""
    customs = (r.get("custom") for r in replies)
    return next((c["form_field"] for c in customs if isinstance(c, dict) and c.get("form_field")), None)
