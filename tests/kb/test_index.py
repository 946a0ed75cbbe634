import json

import numpy as np
import pytest

from kb.index import IndexMismatchError, Passage, VectorIndex


def _unit(*values):
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_add_replace_remove_without_rebuild():
    index = VectorIndex("m", 2)
    index.add([Passage("a", "title", "A")], _unit(1, 0)[None, :], "a", 1)
    index.add([Passage("b", "title", "B")], _unit(0, 1)[None, :], "b", 1)
    assert index.search(_unit(1, 0.1), 1)[0][0] in index.article_passage_ids("a")
    index.add([Passage("a", "title", "A2")], _unit(0.1, 1)[None, :], "a", 2)
    assert index.article_versions == {"a": 2, "b": 1}
    index.remove("b")
    assert [index.passages[pid].article_id for pid, _ in index.search(_unit(0, 1), 5)] == ["a"]


def test_save_and_load_round_trip(tmp_path):
    index = VectorIndex("m", 2)
    index.add([Passage("a", "title", "A"), Passage("a", "body", "B")], np.stack([_unit(1, 0), _unit(0, 1)]), "a", 3)
    index.save(tmp_path / "index")
    loaded = VectorIndex.load(tmp_path / "index", "m", 2)
    assert loaded.article_versions == {"a": 3}
    assert loaded.search(_unit(0, 1), 1) == index.search(_unit(0, 1), 1)


def test_an_index_of_another_model_is_refused_with_advice(tmp_path):
    VectorIndex("model-a", 2).save(tmp_path / "index")
    with pytest.raises(IndexMismatchError, match="tierzero kb reindex"):
        VectorIndex.load(tmp_path / "index", "model-b", 2)


def test_an_index_of_a_model_with_the_same_vectors_loads_and_becomes_this_models(tmp_path):
    VectorIndex("engine-a", 2).save(tmp_path / "index")
    loaded = VectorIndex.load(tmp_path / "index", "engine-b", 2, also=("engine-a",))
    assert loaded is not None and loaded.model == "engine-b"
    with pytest.raises(IndexMismatchError):
        VectorIndex.load(tmp_path / "index", "engine-b", 2, also=("engine-c",))


def test_an_index_of_an_older_format_is_not_loaded_so_sync_embeds_again(tmp_path):
    VectorIndex("m", 2).save(tmp_path / "index")
    meta = json.loads((tmp_path / "index" / "meta.json").read_text(encoding="utf-8"))
    (tmp_path / "index" / "meta.json").write_text(json.dumps({**meta, "format": 1}), encoding="utf-8")
    assert VectorIndex.load(tmp_path / "index", "m", 2) is None


def test_no_saved_index_means_none(tmp_path):
    assert VectorIndex.load(tmp_path / "nothing", "m", 2) is None


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        VectorIndex("m", 3).add([Passage("a", "title", "A")], np.zeros((1, 2), np.float32), "a", 1)


def _clustered(n, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, dim))
    vectors = centres[rng.integers(0, 20, n)] + 0.3 * rng.normal(size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_past_the_threshold_the_index_turns_approximate_and_still_finds_the_neighbours(tmp_path):
    vectors = _clustered(3000)
    exact, approximate = VectorIndex("m", 16), VectorIndex("m", 16, approximate_from=2000, nprobe=8)
    for start in range(0, 3000, 10):
        passages = [Passage(f"a{start}", "question", str(i)) for i in range(start, start + 10)]
        for index in (exact, approximate):
            index.add(passages, vectors[start : start + 10], f"a{start}", 1)
    assert approximate.approximate and not exact.approximate
    queries = _clustered(50, seed=1)
    found = [len({p for p, _ in approximate.search(q, 10)} & {p for p, _ in exact.search(q, 10)}) / 10 for q in queries]
    assert np.mean(found) >= 0.9
    approximate.remove("a0")
    assert not set(approximate.article_passage_ids("a0")) and len(approximate) == 2990
    assert all(approximate.passages[p].article_id != "a0" for p, _ in approximate.search(vectors[0], 20))
    approximate.save(tmp_path / "index")
    loaded = VectorIndex.load(tmp_path / "index", "m", 16)
    assert loaded.approximate and loaded.search(queries[0], 5) == approximate.search(queries[0], 5)
    loaded.remove("a10")
    assert len(loaded) == 2980


def test_an_articles_vectors_come_back_by_passage_text(tmp_path):
    index = VectorIndex("m", 2)
    index.add([Passage("a", "title", "A"), Passage("a", "question", "Q")], np.stack([_unit(1, 0), _unit(0, 1)]), "a", 1)
    index.save(tmp_path / "index")
    for source in (index, VectorIndex.load(tmp_path / "index", "m", 2)):
        vectors = source.article_vectors("a")
        assert set(vectors) == {("title", "A"), ("question", "Q")} and np.allclose(
            vectors["question", "Q"], _unit(0, 1)
        )
        assert source.article_vectors("unknown") == {}


def test_an_index_of_the_same_model_at_another_precision_is_not_loaded_so_sync_embeds_again(tmp_path):
    VectorIndex("model-4bit", 2).save(tmp_path / "index")
    assert VectorIndex.load(tmp_path / "index", "model-8bit", 2, rebuilt=("model-4bit",)) is None
    with pytest.raises(IndexMismatchError):  # another dimension is another model
        VectorIndex.load(tmp_path / "index", "model-8bit", 3, rebuilt=("model-4bit",))
