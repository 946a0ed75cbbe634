"""Questions' vectors computed ahead of their search, matched by the question's search text (`search_text`)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from kb.embeddings import Embedder
from kb.lang import normalize

MAX_QUERY_CHARS = 2000


def search_text(text: str) -> str:
    """What is searched for a customer's message, and the key its prepared vector is kept under: the message
    normalised (`kb.lang.normalize`: NFKC, white space collapsed and trimmed) and cut to `MAX_QUERY_CHARS`. Empty:
    nothing to search."""
    return normalize(text)[:MAX_QUERY_CHARS]


class QueryVectors:
    """Questions' vectors computed ahead: `prepare(text)` starts embedding a question in a background thread and
    returns at once; `take(text)` returns its vector, waiting for the embedding in flight, or embeds it now if the
    question was not prepared. A server prepares a question as it arrives, so the embedding runs while the rest of
    the turn does (the dialogue manager deciding what to do with it), not after.

    A prepared vector is handed out once per `prepare` and forgotten after `keep_seconds` if nobody takes it (the
    question was not searched after all); at most `max_prepared` wait at a time, beyond which `prepare` does
    nothing. Nothing is cached: a question asked again is embedded again.
    """

    def __init__(self, embedder: Embedder, keep_seconds: float = 15.0, max_prepared: int = 256) -> None:
        self._embedder = embedder
        self._keep_seconds, self._max_prepared = keep_seconds, max_prepared
        self._lock = threading.Lock()
        self._prepared: dict[str, tuple[float, Future, int]] = {}  # text -> (when, vector, times prepared)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="query-vectors")

    def _embed(self, text: str) -> np.ndarray:
        return self._embedder.embed_queries([text])[0]

    def prepare(self, text: str) -> None:
        now = time.monotonic()
        with self._lock:
            for stale in [t for t, (when, _, _) in self._prepared.items() if now - when > self._keep_seconds]:
                self._prepared.pop(stale)[1].cancel()  # not embedded yet: never will be
            if text in self._prepared:
                when, vector, times = self._prepared[text]
                self._prepared[text] = (when, vector, times + 1)
            elif len(self._prepared) < self._max_prepared:
                self._prepared[text] = (now, self._pool.submit(self._embed, text), 1)

    def take(self, text: str) -> np.ndarray:
        with self._lock:
            entry = self._prepared.pop(text, None)
            if entry is not None and entry[2] > 1:
                self._prepared[text] = (entry[0], entry[1], entry[2] - 1)
        return entry[1].result() if entry is not None else self._embed(text)

    def ready(self, text: str) -> bool:
        """Whether `take(text)` would return at once: the question was prepared and its embedding is done."""
        with self._lock:
            entry = self._prepared.get(text)
        return entry is not None and entry[1].done() and not entry[1].cancelled()

    @property
    def waiting(self) -> int:
        """How many prepared questions nobody has taken yet."""
        with self._lock:
            return sum(times for _, _, times in self._prepared.values())
