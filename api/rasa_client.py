"""Talking to the Rasa server over its REST channel, and turning its replies into widget messages."""

from __future__ import annotations

import asyncio
import logging
import zlib
from typing import Any

import httpx

logger = logging.getLogger(__name__)


class RasaUnavailable(RuntimeError):
    """Rasa did not answer in time or answered with an error."""


class RasaClient:
    """Sends one customer message to Rasa and returns the bot's replies.

    `base_url`: one Rasa server, or several separated by commas. Each conversation always goes to the same server
    (by a hash of its id), so its tracker stays in that server's memory and no two servers ever handle one
    conversation's turns at once (no shared lock store needed)."""

    def __init__(self, base_url: str, timeout: float) -> None:
        urls = [url.strip() for url in base_url.split(",") if url.strip()]
        self._clients = [httpx.AsyncClient(base_url=url, timeout=timeout) for url in urls]

    def server_for(self, conversation_id: str) -> int:
        """Which of the servers (0, 1, …) answers this conversation."""
        return zlib.crc32(conversation_id.encode()) % len(self._clients)

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
