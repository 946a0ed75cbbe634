import pytest

from kb.lexical import BM25Index, analyze


def test_japanese_and_korean_become_character_bigrams():
    assert analyze("返品したい") == ["返品", "品し", "した", "たい"]
    assert analyze("환불 요청") == ["환불", "요청"]


def test_ranks_the_document_that_shares_rare_terms_first():
    index = BM25Index()
    index.add(1, "How do I track my order?")
    index.add(2, "How do I reset my password?")
    index.add(3, "パスワードを忘れました")
    assert index.search("forgot my password", k=3)[0][0] == 2
    assert index.search("パスワード", k=3)[0][0] == 3


def test_removed_documents_are_not_found_and_updates_replace():
    index = BM25Index()
    index.add(1, "refund status")
    index.add(2, "refund policy")
    index.remove(1)
    assert [doc for doc, _ in index.search("refund status", k=5)] == [2]
    index.add(2, "shipping costs")
    assert index.search("refund", k=5) == []


def test_rejects_bad_parameters():
    with pytest.raises(ValueError):
        BM25Index(k1=0)
    with pytest.raises(ValueError):
        BM25Index().search("x", k=0)
