"""BM25 over words and character bigrams, so it works for English, Japanese and Korean alike.

Japanese has no spaces and Korean glues particles to words, so runs of kana, kanji and Hangul are indexed as
overlapping character bigrams; Latin text as lower-cased words. Documents can be added and removed at any
time; the sparse matrix is rebuilt lazily on the next search.
"""

from __future__ import annotations

import re
import threading
from collections import Counter

import numpy as np
from scipy import sparse

from kb.lang import normalize

_TOKEN = re.compile(r"[0-9a-z]+|[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3\uff66-\uff9f]+")
_CJK_START = "\u3040"
# Function words carry no topic; matching on them only adds noise to the ranking.
STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "am",
        "be",
        "can",
        "could",
        "do",
        "does",
        "did",
        "for",
        "from",
        "have",
        "has",
        "how",
        "i",
        "i'm",
        "if",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "please",
        "so",
        "that",
        "the",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "s",
        "t",
    }
)


def analyze(text: str) -> list[str]:
    """Split text into index terms: words for Latin script, character bigrams for CJK and Hangul runs.

    >>> analyze("Where's my ORDER? 注文を追跡")
    ['order', '注文', '文を', 'を追', '追跡']
    """
    terms: list[str] = []
    for run in _TOKEN.findall(normalize(text).lower()):
        if run[0] < _CJK_START:
            if run not in STOP_WORDS:
                terms.append(run)
        elif len(run) == 1:
            terms.append(run)
        else:
            terms.extend(run[i : i + 2] for i in range(len(run) - 1))
    return terms


class BM25Index:
    """An in-memory BM25 ranker keyed by integer document ids.

    >>> index = BM25Index()
    >>> index.add(1, "track my order"); index.add(2, "reset my password")
    >>> index.search("forgot password", k=1)[0][0]
    2
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        if k1 <= 0 or not 0 <= b <= 1:
            raise ValueError("BM25 needs k1 > 0 and 0 <= b <= 1")
        self.k1, self.b = k1, b
        self._docs: dict[int, Counter[str]] = {}
        self._lock = threading.Lock()
        self._dirty = True
        self._ids = np.zeros(0, dtype=np.int64)
        self._vocab: dict[str, int] = {}
        self._matrix = sparse.csc_matrix((0, 0), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._docs)

    def add(self, doc_id: int, text: str) -> None:
        """Index (or re-index) one document."""
        with self._lock:
            self._docs[doc_id] = Counter(analyze(text))
            self._dirty = True

    def remove(self, doc_id: int) -> None:
        """Forget one document; unknown ids are ignored."""
        with self._lock:
            if self._docs.pop(doc_id, None) is not None:
                self._dirty = True

    def _rebuild(self) -> None:
        ids = np.fromiter(self._docs.keys(), dtype=np.int64, count=len(self._docs))
        vocab: dict[str, int] = {}
        rows, cols, tfs = [], [], []
        lengths = np.zeros(len(ids), dtype=np.float32)
        for row, counts in enumerate(self._docs.values()):
            lengths[row] = sum(counts.values())
            for term, tf in counts.items():
                rows.append(row)
                cols.append(vocab.setdefault(term, len(vocab)))
                tfs.append(tf)
        rows_a, cols_a = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        tf_a = np.asarray(tfs, dtype=np.float32)
        n_docs = max(len(ids), 1)
        df = np.bincount(cols_a, minlength=len(vocab)).astype(np.float32)
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        avg_length = float(lengths.mean()) if len(ids) else 1.0
        norm = self.k1 * (1 - self.b + self.b * lengths[rows_a] / max(avg_length, 1e-6))
        weights = idf[cols_a] * tf_a * (self.k1 + 1) / (tf_a + norm)
        self._matrix = sparse.csc_matrix((weights, (rows_a, cols_a)), shape=(len(ids), len(vocab)))
        self._ids, self._vocab, self._dirty = ids, vocab, False

    def search(self, text: str, k: int = 10) -> list[tuple[int, float]]:
        """Return up to k (doc_id, score) pairs with a positive score, best first."""
        if k <= 0:
            raise ValueError("k must be positive")
        with self._lock:
            if self._dirty:
                self._rebuild()
            columns = sorted({self._vocab[t] for t in analyze(text) if t in self._vocab})
            if not columns or not len(self._ids):
                return []
            scores = np.asarray(self._matrix[:, columns].sum(axis=1)).ravel()
            ids = self._ids
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k] if len(scores) > k else np.arange(len(scores))
        top = top[np.argsort(-scores[top])]
        return [(int(ids[i]), float(scores[i])) for i in top if scores[i] > 0]
