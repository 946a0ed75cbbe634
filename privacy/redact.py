"""Redact card numbers, passwords, one-time codes, other secrets, email addresses and phone numbers from text before
it is stored.

Card numbers are recognised by their digit count and the Luhn checksum, so order numbers stay.
Passwords and codes are recognised by the word before them (password, code, パスワード, 비밀번호, …) and by
containing a digit, so "my password is not working" stays as it is; a password of letters only is missed.
Contact details belong in the fields meant for them (a ticket's name and email), never in free text:
email addresses are recognised by their shape (full-width ＠ and letters too); phone numbers by the shapes people
write them in, so that dates, amounts and order numbers stay:
- international, with a leading + and 8 to 15 digits: +81 90-1234-5678, +1 (415) 555-0132, +82-10-1234-5678;
- Japanese and Korean numbers with a leading 0 and 9 to 11 digits, in groups ending in four digits:
  090-1234-5678, 03-1234-5678, 03(1234)5678, (03) 1234-5678, 02-123-4567, 010.1234.5678;
- mobile numbers written without separators: 09012345678 (070/080/090), 01012345678 (010, 011, 016 to 019);
- North American numbers: 415-555-0132, 415.555.0132, (415) 555-0132.
A number labelled as an order, tracking or invoice number (order 090-1234-5678, 注文番号 09012345678) or written
after # stays. Missed: numbers in other shapes (0312345678 without separators, 1588-1234, 0120-123-456, words
for digits); names in free text are not recognised at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

CARD = "[card number removed]"
SECRET = "[secret removed]"
EMAIL = "[email removed]"
PHONE = "[phone number removed]"

_CARD_CANDIDATE = re.compile(r"(?<![\d])(?:\d[ -]?){12,18}\d(?![\d])")
_SECRET_AFTER_WORD = re.compile(
    r"(?P<label>\b(?:password|passcode|passwd|pwd|pin|otp|one[- ]time code|verification code|security code|cvv|cvc"
    r"|2fa code|auth(?:entication)? code|api key|secret)\b"
    r"|パスワード|暗証番号|認証コード|確認コード|ワンタイムパスワード|セキュリティコード"
    r"|비밀번호|비번|인증번호|인증 코드|인증코드|보안코드|OTP)"
    r"(?P<glue>\s*(?:is|was|:|=|は|が|：|는|은|이|가)?\s*(?:is\s+)?[\"'「『]?)"
    r"(?P<secret>(?=[!-~]*[0-9])[!-~]{3,64})",
    re.IGNORECASE,
)
_API_TOKEN = re.compile(r"\b(?:sk|pk|tz_[a-z]{2})_[A-Za-z0-9_\-]{16,}\b")

# Full-width digits, letters and signs (as Japanese input methods type them) and the dashes people put in phone
# numbers, folded one character for one into ASCII: the patterns see "090-1234-5678" in "０９０ー１２３４ー５６７８".
_FOLD = str.maketrans(
    {
        **{chr(0xFF01 + i): chr(0x21 + i) for i in range(94)},  # ！ to ～
        "\u3000": " ",
        **dict.fromkeys("ー‐‑‒–—―−", "-"),
    }
)
# Latin, Greek and Cyrillic letters beyond ASCII too (anné@exämple.com), not CJK or Hangul: an address typed
# straight after Japanese or Korean words must not take them with it.
_EMAIL_LETTERS = "A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"
_EMAIL = re.compile(
    rf"(?<![{_EMAIL_LETTERS}0-9._%+\-])[{_EMAIL_LETTERS}0-9._%+\-]+@(?:[{_EMAIL_LETTERS}0-9\-]+\.)+"
    rf"[{_EMAIL_LETTERS}]{{2,}}(?![{_EMAIL_LETTERS}0-9\-])"
)
_PHONE = re.compile(
    r"(?<![A-Za-z0-9_+#/.\-])(?:"
    r"\+\d{1,3}(?:[ .\-]?\(?\d{1,4}\)?){2,5}"  # international
    r"|0\d{1,4}(?:[ .\-]\d{1,4}[ .\-]|\(\d{1,4}\))\d{4}"  # 090-1234-5678, 03(1234)5678
    r"|\(0\d{1,4}\) ?\d{1,4}[ .\-]\d{4}"  # (03) 1234-5678
    r"|0[789]0\d{8}|01[016789]\d{7,8}"  # mobile numbers without separators (Japan, Korea)
    r"|\(\d{3}\) ?\d{3}[.\-]\d{4}|\d{3}([.\-])\d{3}\1\d{4}"  # North America
    r")(?![A-Za-z0-9_]|[.\-/]\d)"
)
# A number right after one of these is an order, tracking or invoice number, not a phone number.
_NOT_A_PHONE_LABEL = re.compile(
    r"(?:order|tracking|invoice|receipt|parcel|reference|ref|注文|伝票|追跡|お問い合わせ|주문|송장|운송장)"
    r"\s*(?:number|no\.?|num|id|番号|번호)?\s*(?:is|was|:|は|が|：|는|은)?\s*$",
    re.IGNORECASE,
)


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum used by payment cards."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


@dataclass
class Redaction:
    """Redacted text and what kinds of secret were removed (for the audit, never the secrets themselves)."""

    text: str
    removed: list[str] = field(default_factory=list)


def _replace(
    text: str, pattern: re.Pattern[str], placeholder: str, keep: Callable[[str, re.Match[str]], bool] | None = None
) -> tuple[str, int]:
    """`text` with each match of `pattern` in its folded form replaced, unless `keep` says otherwise; and how many."""
    folded = text.translate(_FOLD)  # one character for one: positions in `folded` are positions in `text`
    pieces: list[str] = []
    last = count = 0
    for match in pattern.finditer(folded):
        if keep is not None and keep(folded, match):
            continue
        pieces += [text[last : match.start()], placeholder]
        last, count = match.end(), count + 1
    return "".join([*pieces, text[last:]]), count


def _not_a_phone(folded: str, match: re.Match[str]) -> bool:
    digits = sum(ch.isdigit() for ch in match.group())
    if not (8 <= digits <= 15 if match.group().startswith("+") else 9 <= digits <= 11):
        return True
    return bool(_NOT_A_PHONE_LABEL.search(folded[max(0, match.start() - 30) : match.start()]))


def redact(text: str, *, contact_details: bool = True) -> Redaction:
    """Replace secrets in `text` with placeholders, and email addresses and phone numbers too unless
    `contact_details` is false (for the bot's handoff form, which needs the address it asked for).

    >>> redact("my card 4111 1111 1111 1111 was charged twice").text
    'my card [card number removed] was charged twice'
    >>> redact("order 1234567890123 is late").text
    'order 1234567890123 is late'
    >>> redact("my password is hunter2!").text
    'my password is [secret removed]'
    >>> redact("write to taro@example.jp or call 090-1234-5678 about order 2024-0115-7788").text
    'write to [email removed] or call [phone number removed] about order 2024-0115-7788'
    """
    removed: list[str] = []

    def card(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            removed.append("card_number")
            return CARD
        return match.group()

    def secret(match: re.Match[str]) -> str:
        if match.group("secret").startswith("["):
            return match.group()
        removed.append("secret")
        return f"{match.group('label')}{match.group('glue')}{SECRET}"

    def token(match: re.Match[str]) -> str:
        removed.append("token")
        return SECRET

    text = _CARD_CANDIDATE.sub(card, text)
    text = _SECRET_AFTER_WORD.sub(secret, text)
    text = _API_TOKEN.sub(token, text)
    if contact_details:
        text, emails = _replace(text, _EMAIL, EMAIL)
        text, phones = _replace(text, _PHONE, PHONE, keep=_not_a_phone)
        removed += ["email"] * emails + ["phone_number"] * phones
    return Redaction(text, removed)
