import json
from collections import defaultdict

import pytest

from kb import KnowledgeBase
from kb.articles import ArticleCreate, create_article, set_status
from kb.embeddings import load_embedder, same_model_as, same_vectors_as
from kb.search import RetrievalSettings


def test_demo_questions_find_the_right_article_in_each_language(demo_kb, demo_questions):
    hits, totals = defaultdict(int), defaultdict(int)
    for row in demo_questions:
        if row["group"] is None:
            continue
        best = demo_kb.search(row["query"], lang=row["lang"]).best
        totals[row["lang"]] += 1
        hits[row["lang"]] += best is not None and best.article.group == row["group"]
    for lang in ("en", "ja", "ko"):
        assert hits[lang] / totals[lang] >= 0.8, f"{lang}: {hits[lang]}/{totals[lang]} top-1"


def test_answers_are_in_the_customers_language(demo_kb):
    result = demo_kb.search("注文した荷物がどこにあるか知りたい", lang="ja")
    assert result.best.article.lang == "ja"
    assert result.best.article.group == "track-order"


def test_answered_questions_are_mostly_right(demo_kb, demo_questions):
    answered = wrong = 0
    for row in demo_questions:
        result = demo_kb.search(row["query"], lang=row["lang"])
        if result.decision == "answer":
            answered += 1
            wrong += result.best.article.group != row["group"]
    assert answered >= 40
    assert wrong / answered <= 0.1


def test_off_topic_questions_are_not_answered(demo_kb):
    for question in ["Can you write me a poem about the sea?", "東京は今日雨が降りますか？"]:
        assert demo_kb.search(question).decision != "answer"


def test_candidates_explain_their_scores(demo_kb):
    candidate = demo_kb.search("how do I reset my password", lang="en").best.to_dict()
    assert candidate["article_id"] == "reset-password-en"
    assert {"dense", "lexical", "fused", "confidence", "passage"} <= candidate.keys()


@pytest.fixture
def small_kb(sessions, embedder, tmp_path):
    return _small_kb(sessions, embedder, tmp_path)


def _small_kb(sessions, embedder, tmp_path):
    with sessions() as session:
        create_article(
            session,
            ArticleCreate(
                id="gift-cards-en",
                lang="en",
                title="How to redeem a gift card",
                body="Enter the gift card code at checkout under Payment. The balance is applied at once.",
                questions=["where do I enter my gift card code"],
                status="published",
            ),
            author="test",
        )
        session.commit()
    kb = KnowledgeBase(sessions, embedder, tmp_path / "index")
    kb.sync()
    return kb


def test_a_japanese_question_finds_an_english_article(small_kb):
    result = small_kb.search("ギフトカードのコードはどこに入力しますか？")
    assert result.lang == "ja"
    assert result.best.article.id == "gift-cards-en"
    assert result.best.article.lang == "en"


def test_published_changes_are_searchable_at_once(small_kb, sessions):
    with sessions() as session:
        article = create_article(
            session,
            ArticleCreate(
                lang="en",
                title="Recycling old electronics",
                body="We take back old electronics for free: book a pickup in the app.",
                status="published",
            ),
            author="test",
        )
        session.commit()
        small_kb.refresh_article(article)
        assert small_kb.search("do you recycle my old phone").best.article.id == article.id
        set_status(session, article.id, "archived", "test")
        session.commit()
        small_kb.refresh_article(article)
    assert all(c.article.id != article.id for c in small_kb.search("do you recycle my old phone").candidates)


def test_sync_embeds_only_what_changed(small_kb, sessions, embedder, tmp_path):
    reopened = KnowledgeBase(sessions, embedder, tmp_path / "index")
    assert reopened.sync() == 0
    with sessions() as session:
        set_status(session, "gift-cards-en", "archived", "test")
        session.commit()
    assert reopened.sync() == 1
    assert reopened.search("gift card").candidates == []


def test_an_index_built_by_the_other_engine_of_the_same_weights_serves_without_reembedding(sessions, tmp_path):
    embedder = load_embedder("e5-onnx", 1)
    _small_kb(sessions, embedder, tmp_path)
    others = same_vectors_as(embedder.name)
    assert others  # multilingual-e5-small has other engines
    meta_file = tmp_path / "index" / "meta.json"
    for other in others:
        meta_file.write_text(meta_file.read_text(encoding="utf-8").replace(f'"{embedder.name}"', f'"{other}"'))
        counting = CountingEmbedder(embedder)
        reopened = KnowledgeBase(sessions, counting, tmp_path / "index")
        assert reopened.sync() == 0 and counting.texts == 0, other
        assert reopened.search("where do I enter my gift card code").best.article.id == "gift-cards-en"
        reopened.save()
        assert json.loads(meta_file.read_text(encoding="utf-8"))["model"] == embedder.name


def test_an_index_built_by_the_same_model_at_another_precision_is_embedded_again(
    small_kb, sessions, embedder, tmp_path
):
    others = same_model_as(embedder.name)
    assert others  # multilingual-e5-small runs at 4 and 8 bits
    meta_file = tmp_path / "index" / "meta.json"
    meta_file.write_text(meta_file.read_text(encoding="utf-8").replace(f'"{embedder.name}"', f'"{others[0]}"'))
    counting = CountingEmbedder(embedder)
    reopened = KnowledgeBase(sessions, counting, tmp_path / "index")
    assert reopened.sync() == len(small_kb.articles) and counting.texts > 0
    assert reopened.search("where do I enter my gift card code").best.article.id == "gift-cards-en"
    reopened.save()
    assert json.loads(meta_file.read_text(encoding="utf-8"))["model"] == embedder.name


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed (titles and questions are embedded as queries)."""

    def __init__(self, inner):
        self.inner, self.name, self.dim, self.texts = inner, inner.name, inner.dim, 0

    def embed_queries(self, texts):
        self.texts += len(texts)
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts):
        self.texts += len(texts)
        return self.inner.embed_passages(texts)


def test_an_edit_embeds_only_the_new_passages_and_autosave_off_defers_the_write(sessions, embedder, tmp_path):
    counting = CountingEmbedder(embedder)
    kb = KnowledgeBase(sessions, counting, tmp_path / "index", autosave=False)
    with sessions() as session:
        article = create_article(
            session,
            ArticleCreate(id="refunds-en", lang="en", title="Refunds", body="Refunds take 5 days.", status="published"),
            author="test",
        )
        session.commit()
        kb.refresh_article(article)
        assert counting.texts == 2 and not (tmp_path / "index").exists()
        article.questions = ["when do I get my money back"]
        article.version += 1
        session.commit()
        kb.refresh_article(article)
    assert counting.texts == 3  # the title and body were not embedded again
    assert kb.search("when do I get my money back").best.article.id == "refunds-en"
    kb.save()
    assert KnowledgeBase(sessions, counting, tmp_path / "index").sync() == 0


def test_alternative_questions_are_embedded_as_questions_and_titles_and_bodies_as_passages(small_kb, embedder):
    vectors = small_kb.vectors.article_vectors("gift-cards-en")
    # A text embedded among others comes out within rounding (bfloat16) of the same text alone (cosine > 0.9999);
    # the other prefix moves it much further.
    same = lambda stored, fresh: float(stored @ fresh) > 0.9999  # noqa: E731
    question = "where do I enter my gift card code"
    assert same(vectors["question", question], embedder.embed_queries([question])[0])
    assert not same(vectors["question", question], embedder.embed_passages([question])[0])
    title = "How to redeem a gift card"
    assert same(vectors["title", title], embedder.embed_passages([title])[0])
    assert not same(vectors["title", title], embedder.embed_queries([title])[0])
    body = next(text for kind, text in vectors if kind == "body")
    assert same(vectors["body", body], embedder.embed_passages([body])[0])


def test_articles_that_score_the_same_are_ranked_by_id(sessions, embedder, tmp_path):
    with sessions() as session:
        for article_id in ("twin-c", "twin-a", "twin-b"):
            create_article(
                session,
                ArticleCreate(
                    id=article_id, lang="en", title="Opening hours", body="We are open 9 to 5.", status="published"
                ),
                author="test",
            )
        session.commit()
    kb = KnowledgeBase(sessions, embedder, tmp_path / "index", retrieval=RetrievalSettings(classifier_weight=0))
    kb.sync()
    for mode in ("hybrid", "lexical"):
        ranked = [c.article.id for c in kb.search("when are you open", mode=mode).candidates]
        assert ranked == ["twin-a", "twin-b", "twin-c"], mode


def test_an_article_whose_body_is_only_markup_is_summarised_by_its_title(small_kb, sessions):
    with sessions() as session:
        article = create_article(
            session,
            ArticleCreate(lang="en", title="Recycling old electronics", body="***\n\n---", status="published"),
            author="test",
        )
        session.commit()
        small_kb.refresh_article(article)
    best = small_kb.search("recycling old electronics").best
    assert best.article.id == article.id and best.article.summary == "Recycling old electronics"
