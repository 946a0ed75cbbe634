import pytest

from kb.lang import detect_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Where is my order? It has not arrived.", "en"),
        ("注文した商品が届きません", "ja"),
        ("カード", "ja"),
        ("상담원 연결해 주세요", "ko"),
        ("배송 언제 와요?", "ko"),
    ],
)
def test_detects_each_language_from_its_script(text, expected):
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["Taro Yamada", "taro@example.jp", "/affirm", "ok", "12345"])
def test_short_latin_text_keeps_the_conversation_language(text):
    assert detect_language(text, default="ja") == "ja"
