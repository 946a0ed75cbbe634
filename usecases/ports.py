"""What the use cases need from outside and do not build themselves: the conversational assistant (Rasa, in
api/rasa_client.py). A port names the promise; the adapter keeps it."""

from __future__ import annotations

from typing import Any, Protocol


class AssistantUnavailable(RuntimeError):
    """The assistant did not answer in time, or answered with an error."""


class Assistant(Protocol):
    def commands(self) -> frozenset[str]:
        """The button payloads (`/name`) the assistant takes as commands; any other text is the customer's words."""
        ...

    async def reply(self, conversation_id: str, text: str, lang: str) -> list[dict[str, Any]]:
        """The assistant's answer to one customer message: messages with `text` and optionally `buttons`,
        `articles` and `form_field` (the contact detail the message asks for). Empty if it said nothing;
        AssistantUnavailable if it could not answer."""
        ...
