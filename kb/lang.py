"""Language detection for the three languages customers write: English, Japanese and Korean.

Script-based, so it needs no model: Hangul means Korean, kana or kanji mean Japanese. Latin text counts as
English only when it looks like a sentence, because a name or an email typed into a form in a Japanese
conversation is still a Japanese conversation.
"""

import re
import unicodedata
from typing import Literal, get_args

Lang = Literal["en", "ja", "ko"]
"""The languages customers write, each a language code; the knowledge base, the bot's texts and the widget follow."""

SUPPORTED_LANGUAGES: tuple[Lang, ...] = get_args(Lang)

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def normalize(text: str) -> str:
    """NFKC-normalise and collapse white space (full-width letters become ASCII, for instance)."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def detect_language(text: str, default: str | None = None) -> str | None:
    """Return "ko", "ja" or "en" for `text`, or `default` when the text does not tell.

    >>> detect_language("상담원 연결해 주세요")
    'ko'
    >>> detect_language("注文をキャンセルしたい")
    'ja'
    >>> detect_language("Taro Yamada", default="ja")
    'ja'
    """
    text = normalize(text)
    hangul, kana, han = len(_HANGUL.findall(text)), len(_KANA.findall(text)), len(_HAN.findall(text))
    if hangul and hangul >= kana + han:
        return "ko"
    if kana or han:
        return "ja"
    if "@" not in text and not text.startswith("/") and len(_LATIN_WORD.findall(text)) >= 3:
        return "en"
    return default
