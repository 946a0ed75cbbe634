"""The dense passage index: faiss inner-product search over normalised vectors, persisted on disk.

The folder holds ``vectors.faiss`` and ``meta.json``. The metadata says which model and dimension built the
vectors and which article versions are in it, so a saved index is never used with another model (that is an
error telling you to reindex) and only articles that changed are embedded again at start-up.
Saving writes a new folder and swaps it in, so a crash mid-save leaves the previous index serving.

Up to `APPROXIMATE_FROM` passages the search is exact (a flat scan, whose time grows with the index). Past that the
index turns itself into an inverted-file index (IVF: k-means cells, `nprobe` of them scanned per query), trained
on the vectors it holds; `bench/kb_latency.py` checks its recall against the exact search and its latency.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

FORMAT_VERSION = 2  # 2: alternative questions are embedded as queries
# One question is searched at a time, on one thread: faiss's OpenMP threads spin and wait for each other on a
# server's busy cores, which made a search slower, not faster (bench/kb_latency.py measures it), and slowed the
# embedding model's own threads.
faiss.omp_set_num_threads(1)
APPROXIMATE_FROM = 50_000
# Cells scanned per query; bench/kb_latency.py measures the recall against exact search that this buys.
DEFAULT_NPROBE = 32


class IndexMismatchError(RuntimeError):
    """The saved index was built by another model or format; rebuild it with `tierzero kb reindex`."""


@dataclass(frozen=True)
class Passage:
    """One searchable piece of an article: its title, an alternative question or a chunk of the body."""

    article_id: str
    kind: str  # "title" | "question" | "body"
    text: str


class VectorIndex:
    """faiss exact inner-product search keyed by passage id, with add and remove without a rebuild.

    >>> import numpy as np
    >>> index = VectorIndex(model="demo", dim=2)
    >>> ids = index.add([Passage("a", "title", "x")], np.array([[1.0, 0.0]], dtype=np.float32), "a", 1)
    >>> index.search(np.array([1.0, 0.0], dtype=np.float32), 1)[0][1]
    1.0
    """

    def __init__(
        self, model: str, dim: int, approximate_from: int = APPROXIMATE_FROM, nprobe: int = DEFAULT_NPROBE
    ) -> None:
        if dim <= 0:
            raise ValueError("dim must be positive")
        if approximate_from <= 0 or nprobe <= 0:
            raise ValueError("approximate_from and nprobe must be positive")
        self.model, self.dim = model, dim
        self.approximate_from, self.nprobe = approximate_from, nprobe
        self._faiss: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.passages: dict[int, Passage] = {}
        self.article_versions: dict[str, int] = {}
        self._article_passages: dict[str, list[int]] = {}
        self._next_id = 1
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self.passages)

    @property
    def approximate(self) -> bool:
        """True once the index has turned into an IVF index (past `approximate_from` passages)."""
        return isinstance(self._faiss, faiss.IndexIVF)

    def make_approximate(self) -> None:
        """Rebuild the vectors into an IVF index trained on them (done automatically past `approximate_from`)."""
        with self._lock:
            flat = faiss.downcast_index(self._faiss.index)
            ids = faiss.vector_to_array(self._faiss.id_map).astype(np.int64)
            vectors = flat.reconstruct_n(0, self._faiss.ntotal)
            cells = max(1, min(len(ids) // 39, int(4 * np.sqrt(len(ids)))))
            ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dim), self.dim, cells, faiss.METRIC_INNER_PRODUCT)
            sample = np.random.default_rng(0).choice(len(ids), size=min(len(ids), cells * 64), replace=False)
            ivf.train(vectors[np.sort(sample)])
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
            ivf.add_with_ids(vectors, ids)
            ivf.nprobe = self.nprobe
            self._faiss = ivf

    def add(self, passages: list[Passage], vectors: np.ndarray, article_id: str, version: int) -> list[int]:
        """Replace an article's passages with these (vectors row-aligned with passages); return their ids."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(passages), self.dim):
            raise ValueError(f"expected vectors of shape ({len(passages)}, {self.dim}), got {vectors.shape}")
        with self._lock:
            self.remove(article_id)
            ids = list(range(self._next_id, self._next_id + len(passages)))
            self._next_id += len(passages)
            if passages:
                self._faiss.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))
            self.passages.update(zip(ids, passages, strict=True))
            self._article_passages[article_id] = ids
            self.article_versions[article_id] = version
            if not self.approximate and len(self.passages) > self.approximate_from:
                self.make_approximate()
            return ids

    def remove(self, article_id: str) -> None:
        """Drop an article's passages; an unknown article is a no-op."""
        with self._lock:
            ids = self._article_passages.pop(article_id, [])
            self.article_versions.pop(article_id, None)
            if ids:
                self._faiss.remove_ids(np.asarray(ids, dtype=np.int64))
                for passage_id in ids:
                    del self.passages[passage_id]

    def article_passage_ids(self, article_id: str) -> list[int]:
        """Ids of the passages an article has in the index."""
        return list(self._article_passages.get(article_id, []))

    def article_vectors(self, article_id: str) -> dict[tuple[str, str], np.ndarray]:
        """The vectors of an article's passages by (kind, text), so an edit re-embeds only the passages that
        changed."""
        with self._lock:
            ids = self._article_passages.get(article_id, [])
            if not ids:
                return {}
            try:
                vectors = [self._faiss.reconstruct(int(pid)) for pid in ids]
            except RuntimeError:  # an index that cannot give vectors back: embed everything again
                return {}
            return {
                (self.passages[pid].kind, self.passages[pid].text): vector
                for pid, vector in zip(ids, vectors, strict=True)
            }

    def labelled_vectors(self) -> tuple[np.ndarray, list[str]]:
        """Every passage's vector and the id of its article (the classifier's training set)."""
        with self._lock:
            ids = sorted(self.passages)
            if not ids:
                return np.zeros((0, self.dim), np.float32), []
            vectors = np.stack([self._faiss.reconstruct(int(pid)) for pid in ids])
            return vectors, [self.passages[pid].article_id for pid in ids]

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Return up to k (passage_id, cosine) pairs, best first."""
        if k <= 0:
            raise ValueError("k must be positive")
        with self._lock:
            if not self.passages:
                return []
            scores, ids = self._faiss.search(np.asarray(vector, dtype=np.float32).reshape(1, -1), min(k, len(self)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def save(self, folder: Path) -> None:
        """Write the index to `folder` atomically (a new folder renamed over the old one)."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = folder.with_name(folder.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(mode=0o700)  # owner-only, as everything in the data folder: it holds the articles' text
        with self._lock:
            faiss.write_index(self._faiss, str(staging / "vectors.faiss"))
            os.chmod(staging / "vectors.faiss", 0o600)
            meta = {
                "format": FORMAT_VERSION,
                "model": self.model,
                "dim": self.dim,
                "normalized": True,
                "metric": "inner_product",
                "approximate": self.approximate,
                "nprobe": self.nprobe,
                "next_id": self._next_id,
                "article_versions": self.article_versions,
                "passages": {
                    str(pid): {"article_id": p.article_id, "kind": p.kind, "text": p.text}
                    for pid, p in self.passages.items()
                },
            }
        meta_file = os.open(staging / "meta.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(meta_file, "w", encoding="utf-8") as out:
            out.write(json.dumps(meta, ensure_ascii=False))
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(staging, folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(
        cls, folder: Path, model: str, dim: int, also: Collection[str] = (), rebuilt: Collection[str] = ()
    ) -> VectorIndex | None:
        """Load a saved index for `model` (or for one of the models named in `also`, whose vectors are the same);
        IndexMismatchError if it is another model's; None if there is none, or it was written by an older release
        or by a model named in `rebuilt` (the same model at another precision): its vectors were made another way,
        and the caller's sync embeds everything again from the database, which is the source of truth. Loaded, it
        belongs to `model`, and its next save says so."""
        folder = Path(folder)
        if not (folder / "meta.json").exists():
            old = folder.with_name(folder.name + ".old")
            if not (old / "meta.json").exists():
                return None
            folder = old  # a crash between the two renames of save()
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("model") in rebuilt and meta.get("dim") == dim:
            return None
        if meta.get("model") not in (model, *also) or meta.get("dim") != dim:
            raise IndexMismatchError(
                f"the index in {folder} was built with model {meta.get('model')!r} (dim {meta.get('dim')}), "
                f"not {model!r} (dim {dim}): run `tierzero kb reindex`"
            )
        if meta.get("format") != FORMAT_VERSION:
            return None
        index = cls(model, dim, nprobe=int(meta.get("nprobe", DEFAULT_NPROBE)))
        index._faiss = faiss.read_index(str(folder / "vectors.faiss"))
        if isinstance(index._faiss, faiss.IndexIVF):
            index._faiss.nprobe = index.nprobe
        index._next_id = int(meta["next_id"])
        index.article_versions = {k: int(v) for k, v in meta["article_versions"].items()}
        for pid, fields in meta["passages"].items():
            passage = Passage(**fields)
            index.passages[int(pid)] = passage
            index._article_passages.setdefault(passage.article_id, []).append(int(pid))
        return index
