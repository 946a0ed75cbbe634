"""A Rasa NLU component that reads the customer's language from the message's metadata.

The API decides the conversation's language (from the message's script, else as it was) and sends it with every
message as `metadata.lang`. This component turns it into a `lang` entity, which the `lang` slot maps from, so
setting the slot costs no round trip to the action server on every turn.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LanguageFromMetadata(GraphComponent):
    """Adds the entity `lang` when the message's metadata names a language. The API is the one judge of which
    languages are supported (kb/lang.py) and sends only those, so the component takes what it is given."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageFromMetadata:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            lang = (message.get("metadata") or {}).get("lang")
            if isinstance(lang, str) and lang:
                entity = {"entity": "lang", "value": lang, "start": 0, "end": 0, "extractor": type(self).__name__}
                message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
